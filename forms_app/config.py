"""Configuration: defaults, environment variables and secrets kept in the instance folder.

Every worker must share one SECRET_KEY (sessions, CSRF), one DATA_KEY (encryption at rest) and one
HASH_KEY (lookup hashes). Each is read from the environment; when absent it is generated once
into a file in the instance folder (created atomically, so workers starting together agree).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .crypto import new_key

ROOT = Path(__file__).resolve().parent.parent

MB = 1024 * 1024


def defaults(instance_path: Path) -> dict[str, Any]:
    env = os.environ
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'forms.db'}",
        "CONTENT_DIR": env.get("CONTENT_DIR") or str(ROOT / "content"),
        "SITE_DIR": env.get("SITE_DIR") or str(ROOT / "site"),
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(instance_path / "uploads"),
        # apply migrations when the app starts (a lock keeps concurrent workers apart)
        "AUTO_MIGRATE": env.get("AUTO_MIGRATE", "1") != "0",
        "STAFF_CONSOLE": env.get("STAFF_CONSOLE", "1") != "0",
        # uploads: per file, per request (all files + form), and form fields without files
        "UPLOAD_MAX_FILE_BYTES": int(env.get("UPLOAD_MAX_FILE_BYTES", 10 * MB)),
        "UPLOAD_MAX_FILES_PER_TYPE": 5,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 40 * MB)),
        "MAX_FORM_MEMORY_SIZE": 500 * 1024,
        "MAX_FORM_PARTS": 200,
        # CSRF tokens last as long as the session; an expired one re-shows the form, values kept
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": 4 * 3600,
        # Flask-Limiter: process-memory:// (forms_app/ratelimit_storage.py: memory:// without a
        # timer thread per hit) counts per process; use redis://host:6379 with several workers
        # or hosts so every worker shares the counters
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "process-memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "STATUS_RATE_LIMIT": env.get("STATUS_RATE_LIMIT", "10 per minute; 50 per hour"),
        "SUBMIT_RATE_LIMIT": env.get("SUBMIT_RATE_LIMIT", "30 per minute; 300 per hour"),
        "JSON_AS_ASCII": False,
    }


def instance_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """The secret in `instance/<name>`, created once (atomically) if it does not exist."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # fails if another worker won the race: use theirs
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def load_secrets(config: dict[str, Any], instance_path: Path) -> None:
    """Fill SECRET_KEY, DATA_KEY and HASH_KEY from config, environment or the instance folder."""
    makers: dict[str, Callable[[], str]] = {
        "SECRET_KEY": lambda: secrets.token_hex(32),
        "DATA_KEY": new_key,
        "HASH_KEY": lambda: secrets.token_hex(32),
    }
    for key, make in makers.items():
        if config.get(key):
            continue
        config[key] = os.environ.get(key) or instance_secret(instance_path, key.lower(), make)
