"""A database with every migration is opened without loading Alembic; one without them (new,
or a revision behind) is migrated by Alembic as before. The head read from the scripts is
Alembic's own, and anything but one straight line of revisions leaves the decision to Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from forms_app.storage.database import MIGRATIONS, Database, alembic_config
from forms_app.storage.migration_state import database_revisions, head_revision, is_at_head

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = MIGRATIONS / "versions"


def alembic_head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert head_revision(VERSIONS) == alembic_head()


def write_script(folder: Path, revision: str, down: object, **more: object) -> None:
    lines = [f'"""{revision}"""', "from alembic import op", f"revision = {revision!r}",
             f"down_revision = {down!r}", *(f"{k} = {v!r}" for k, v in more.items()),
             "def upgrade() -> None:", "    op.execute('SELECT 1')"]
    (folder / f"{revision}_step.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_straight_line_of_scripts_has_its_newest_as_head(tmp_path: Path) -> None:
    write_script(tmp_path, "a1", None)
    write_script(tmp_path, "b2", "a1", branch_labels=None)
    write_script(tmp_path, "c3", "b2")
    assert head_revision(tmp_path) == "c3"


@pytest.mark.parametrize("scripts", [
    [("a1", None, {}), ("b2", "a1", {}), ("c3", "a1", {})],            # two heads
    [("a1", None, {}), ("b2", "a1", {}), ("m3", ("a1", "b2"), {})],    # a merge
    [("a1", None, {}), ("b2", "zz", {})],                              # a missing parent
    [("a1", None, {}), ("b2", "a1", {"depends_on": "a1"})],            # a dependency
], ids=["two heads", "merge", "missing parent", "depends_on"])
def test_anything_but_a_straight_line_is_left_to_alembic(
        tmp_path: Path, scripts: list[tuple[str, object, dict[str, object]]]) -> None:
    for revision, down, more in scripts:
        write_script(tmp_path, revision, down, **more)
    assert head_revision(tmp_path) is None


def opens_without_alembic(database_url: str, tmp_path: Path) -> bool:
    """Start an app on the database in a process of its own: True when it never imported
    Alembic. Raises if the app could not start."""
    script = ("import sys\nfrom forms_app import create_app\n"
              f"app = create_app({{'DATABASE_URL': {database_url!r}, "
              f"'UPLOAD_DIR': {str(tmp_path / 'uploads')!r}, 'SECRET_KEY': 'x', "
              "'HASH_KEY': 'y', 'DATA_KEY': __import__('forms_app.storage.crypto', "
              "fromlist=['new_key']).new_key()})\n"
              "print('alembic' not in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1] == "True"


def test_a_new_database_is_migrated_and_then_opened_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'forms.db'}"
    assert not opens_without_alembic(url, tmp_path)  # a new database: Alembic migrated it
    db = Database(url)
    with db.engine.connect() as conn:
        assert database_revisions(conn) == {alembic_head()}
        assert conn.scalar(text("SELECT count(*) FROM service_request")) == 0
    db.dispose()
    assert opens_without_alembic(url, tmp_path)


def test_a_database_a_revision_behind_is_brought_to_the_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'forms.db'}")
    db.upgrade(lock_dir=tmp_path)
    with db.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    with db.engine.connect() as conn:
        behind = database_revisions(conn)
        assert behind and behind != {alembic_head()}
        assert not is_at_head(conn, VERSIONS)
    db.upgrade(lock_dir=tmp_path)
    with db.engine.connect() as conn:
        assert database_revisions(conn) == {alembic_head()}
        assert is_at_head(conn, VERSIONS)
    db.dispose()


@pytest.mark.postgres
def test_a_postgres_schema_is_migrated_once_then_found_at_head(pg_schema_url: str) -> None:
    db = Database(pg_schema_url)
    with db.engine.connect() as conn:
        assert database_revisions(conn) == set()  # no version table yet: not an error
    db.upgrade()
    with db.engine.connect() as conn:
        assert is_at_head(conn, VERSIONS)
    db.upgrade()  # at the head: nothing to do, and nothing fails
    db.dispose()
