"""The migrations build exactly the schema the models describe, on both databases: a column,
index or table added to models.py without its migration (or the reverse) is named here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forms_app.storage.models import Base
from tests.support.storage import parts


def test_migrated_schema_matches_the_models(any_app):
    db, _c, _u = parts(any_app)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "\n".join(map(str, differences))
