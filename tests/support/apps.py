"""Building a test app: `build_app(folder, **config)`.

Every test gets a database of its own. Migrating a new SQLite file costs about 0.15 s, and the
suite makes a few hundred apps, so the migrations run once per test process into a template file
that each new test database starts as a copy of (the same file `alembic upgrade head` produces;
`tests/storage` still migrates fresh databases on both engines). Content is loaded once per
process as well (`forms_app.content`).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask

from forms_app import create_app
from forms_app.config import TestConfig
from forms_app.storage.database import Database

_template: Path | None = None


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


def build_app(folder: Path, **config: Any) -> Flask:
    """An app on `folder` (SQLite database, uploads, no built site) with `config` on top of
    `TestConfig`. A SQLite database not yet in `folder` starts as a copy of the migrated
    template, unless the test sets AUTO_MIGRATE or a DATABASE_URL of its own."""
    settings = TestConfig.for_folder(folder, **config)
    database = folder / "forms.db"
    if "DATABASE_URL" not in config and "AUTO_MIGRATE" not in config:
        if not database.exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_sqlite_template(), database)
        settings["AUTO_MIGRATE"] = False
    return create_app(settings)
