"""Building a test app: `build_app(folder, **config)`.

Every test gets a database of its own. Migrating a new SQLite file costs about 0.15 s, and the
suite makes a few hundred apps, so the migrations run once per test process into a template file
that each new test database starts as a copy of (the same file `alembic upgrade head` produces;
`tests/storage` still migrates fresh databases on both engines). On PostgreSQL the first app of a
process migrates its schema with Alembic while the statements it runs are recorded; each later
schema gets them replayed in one round trip (about 0.12 s, most of it PostgreSQL's own work on
the DDL, against about 0.2 s through Alembic), and
`tests/storage/test_migrations_match_models.py` checks that both give the same schema. Content is
loaded once per process as well (`forms_app.content`), and templates are compiled once per
process: every app's Jinja environment shares one bytecode cache (Jinja's own, keyed by each
template's source, so an edited template is compiled again), which saves about 40 ms of compiling
in each test that renders a few pages.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import FileSystemBytecodeCache
from sqlalchemy import event, text

from forms_app import create_app
from forms_app.config import TestConfig
from forms_app.storage.database import Database

_template: Path | None = None
_postgres_script: str | None = None


@functools.cache
def shared_bytecode_cache() -> FileSystemBytecodeCache:
    folder = tempfile.mkdtemp(prefix="forms-jinja-")
    atexit.register(shutil.rmtree, folder, True)
    return FileSystemBytecodeCache(folder)


def migrated_sqlite_template() -> Path:
    """A SQLite file with every migration applied, made once per process."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="forms-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "forms.db"
        db = Database(f"sqlite:///{path}")
        db.upgrade(lock_dir=folder)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        _template = path
    return _template


def migrate_postgres_schema(url: str) -> None:
    """Bring the empty schema `url` selects to the head revision, as `alembic upgrade head`
    does: for real the first time in a process (recording the statements), then by replaying
    them. A schema already migrated (a second app of the same test) is left as it is."""
    global _postgres_script
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('alembic_version')")) is not None:
                return
        if _postgres_script is not None:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(_postgres_script)
            return
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # catalog lookups, the advisory lock and reads of (empty) tables change nothing
            if not statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement.strip())

        event.listen(db.engine, "before_cursor_execute", record)
        db.upgrade()
        event.remove(db.engine, "before_cursor_execute", record)
        _postgres_script = ";\n".join(statements)
    finally:
        db.dispose()


def build_app(folder: Path, **config: Any) -> Flask:
    """An app on `folder` (SQLite database, uploads, no built site) with `config` on top of
    `TestConfig`. A SQLite database not yet in `folder` starts as a copy of the migrated
    template, and a PostgreSQL schema is migrated once by `migrate_postgres_schema`, unless the
    test sets AUTO_MIGRATE (or a SQLite DATABASE_URL of its own)."""
    settings = TestConfig.for_folder(folder, **config)
    database = folder / "forms.db"
    url = config.get("DATABASE_URL", "")
    if "AUTO_MIGRATE" not in config:
        if not url:
            if not database.exists():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(migrated_sqlite_template(), database)
            settings["AUTO_MIGRATE"] = False
        elif url.startswith("postgresql"):
            migrate_postgres_schema(url)
            settings["AUTO_MIGRATE"] = False
    app = create_app(settings)
    # Jinja allows changing an environment until its first template is loaded
    app.jinja_env.bytecode_cache = shared_bytecode_cache()
    return app
