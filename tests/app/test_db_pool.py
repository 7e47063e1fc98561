"""PostgreSQL connections dropped by the server (a restart, an idle timeout): a connection that
sat idle is tried before use and replaced; one used moments ago is not (no round trip per
checkout), and if the server dropped it anyway the pool recovers on the next request."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from forms_app import db as db_module
from forms_app.db import Database

pytestmark = pytest.mark.postgres


def _terminate(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def test_an_idle_connection_dropped_by_the_server_is_replaced(postgres_url, monkeypatch):
    db = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long"
        second = _backend_pid(db)  # no error: the ping found it dead, the pool reconnected
        assert second != first
    finally:
        db.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(postgres_url, monkeypatch):
    db = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 3600.0)
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        # not pinged, so the dropped connection is only found by the statement itself...
        with pytest.raises(DBAPIError) as failed:
            _backend_pid(db)
        assert failed.value.connection_invalidated
        # ...and the pool has replaced it for the next request
        assert _backend_pid(db) != first
    finally:
        db.dispose()
