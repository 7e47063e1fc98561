"""The migrations build exactly the schema the models describe, on both databases: a column,
index or table added to models.py without its migration (or the reverse) is named here. The
schema most tests start from (a copy of a migrated SQLite file, replayed PostgreSQL statements:
tests/support/apps.py) is held to the same models."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from forms_app.storage.models import Base
from tests.support.storage import parts


def differences_from_the_models(app: Flask) -> list[str]:
    db, _c, _u = parts(app)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [str(d) for d in compare_metadata(context, Base.metadata)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def freshly_migrated_app(request: pytest.FixtureRequest, make_app: Callable[..., Flask]) -> Flask:
    """An app whose start ran every Alembic migration on an empty database."""
    if request.param == "sqlite":
        return make_app(AUTO_MIGRATE=True)
    return make_app(DATABASE_URL=request.getfixturevalue("pg_schema_url"), AUTO_MIGRATE=True)


def test_migrated_schema_matches_the_models(freshly_migrated_app: Flask) -> None:
    differences = differences_from_the_models(freshly_migrated_app)
    assert differences == [], "\n".join(differences)


def test_the_schema_tests_start_from_matches_the_models(any_app: Flask) -> None:
    differences = differences_from_the_models(any_app)
    assert differences == [], "\n".join(differences)
