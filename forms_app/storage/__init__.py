"""Everything the app keeps: the database (SQLite or PostgreSQL) and its migrations, the models,
the request write path and reads, staff accounts, the audit log, the outbox, encrypted files.

Views call the functions of these modules and never the ORM or SQL themselves. `init_app`
opens the database (migrating it when `AUTO_MIGRATE` is on), sets up encryption, and registers
the storage commands (`db-upgrade`, `rotate-keys`, `sweep-uploads`).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from .crypto import Crypto
from .database import Database


def init_app(app: Flask) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    db = Database(app.config["DATABASE_URL"])
    if app.config["AUTO_MIGRATE"]:
        db.upgrade(lock_dir=instance)
    app.extensions["forms_db"] = db
    app.extensions["forms_crypto"] = Crypto(app.config["DATA_KEY"], app.config["HASH_KEY"])

    from .cli import register_cli

    register_cli(app)


def get_db() -> Database:
    return current_app.extensions["forms_db"]


def get_crypto() -> Crypto:
    return current_app.extensions["forms_crypto"]


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])
