"""Running `flask --app forms_app send-outbox` in processes of their own against a test app's
database: the environment that gives them the same database and keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def cli_env(app: Flask, **settings: Any) -> dict[str, str]:
    """The environment of a command process that reads and writes `app`'s data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "SMS_"))}
    config = app.config
    env.update({
        "PYTHONPATH": str(ROOT), "DATABASE_URL": config["DATABASE_URL"],
        "SECRET_KEY": config["SECRET_KEY"], "DATA_KEY": config["DATA_KEY"],
        "HASH_KEY": config["HASH_KEY"], "UPLOAD_DIR": config["UPLOAD_DIR"],
        "SITE_DIR": config["SITE_DIR"], "AUTO_MIGRATE": "0", "OUTBOX_SENDER": "log",
        "PYTHONUNBUFFERED": "1",
    })
    for key, value in settings.items():
        env[key] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return env
