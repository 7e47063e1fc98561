"""Objects shared by the blueprints: database, content rules, crypto, CSRF and rate limiter.

Blueprints (including the staff console) reach them through the helpers below:
`get_db()`, `db_session()` (one read session per request, closed at teardown), `get_rules()`,
`get_crypto()`.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from service_rules import Rules

from .crypto import Crypto
from .db import Database
from .ratelimit_storage import ProcessMemoryStorage  # noqa: F401  (registers process-memory://)

csrf = CSRFProtect()
# storage from RATELIMIT_STORAGE_URI (process-memory:// by default: per process; use Redis
# when there are several workers or hosts)
limiter = Limiter(get_remote_address)


def get_db() -> Database:
    return current_app.extensions["forms_db"]


def get_rules() -> Rules:
    return current_app.extensions["forms_rules"]


def get_crypto() -> Crypto:
    return current_app.extensions["forms_crypto"]


def db_session() -> Session:
    """A read session for this request (use `get_db().write_session()` for changes)."""
    if "db_session" not in g:
        g.db_session = get_db().read_session()
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_extensions(app: Flask, rules: Rules, db: Database, crypto: Crypto) -> None:
    app.extensions["forms_rules"] = rules
    app.extensions["forms_db"] = db
    app.extensions["forms_crypto"] = crypto
    app.teardown_appcontext(_close_session)
    csrf.init_app(app)
    limiter.init_app(app)
