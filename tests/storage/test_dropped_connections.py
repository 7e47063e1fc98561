"""PostgreSQL connections dropped by the server (a restart, an idle timeout): the pool tries a
connection before use (`pool_pre_ping`) and replaces a dead one, so no request sees the error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from forms_app.storage.database import Database

pytestmark = pytest.mark.postgres


def _terminate(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def test_a_connection_dropped_by_the_server_is_replaced_without_an_error(postgres_url):
    db = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        second = _backend_pid(db)  # no error: the ping found it dead, the pool reconnected
        assert second != first
    finally:
        db.dispose()


def test_without_the_ping_the_dropped_connection_would_fail_the_request(postgres_url):
    """The reference: the same drop with pool_pre_ping off fails the first statement, so the
    test above shows the ping at work, not a pool that happens to reconnect."""
    from sqlalchemy.exc import DBAPIError

    db = Database(postgres_url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    try:
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        with pytest.raises(DBAPIError) as failed:
            _backend_pid(db)
        assert failed.value.connection_invalidated
    finally:
        db.dispose()
