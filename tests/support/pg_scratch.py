"""A private, throw-away PostgreSQL database per test or benchmark run.

Other test folders use the shared `test` database and may create or drop tables in it at any
time; fault, scale-out and load runs therefore get their own database
(`hardening_<random>`) on the same server, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

POSTGRES_URL = os.environ.get("DATABASE_TEST_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextlib.contextmanager
def scratch_database(base_url: str = POSTGRES_URL) -> Iterator[str | None]:
    """Yields the SQLAlchemy URL of a new empty database, or None if no server answers."""
    import psycopg

    try:
        admin = psycopg.connect(_libpq(base_url), autocommit=True, connect_timeout=3)
    except Exception:  # noqa: BLE001 - unreachable: the caller skips
        yield None
        return
    name = f"hardening_{secrets.token_hex(6)}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        head, _sep, _old = base_url.rpartition("/")
        yield f"{head}/{name}"
    finally:
        with contextlib.suppress(Exception):
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
