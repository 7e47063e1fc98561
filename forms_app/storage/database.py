"""Engine, sessions and migrations.

SQLite (the default) is set up for durability and concurrent writers: WAL journal,
`synchronous=FULL` (an acknowledged request survives a power cut), `secure_delete` (deleted
data is zeroed in the file), a busy timeout, and write
transactions that take the write lock up front (`BEGIN IMMEDIATE`) so two writers never deadlock
on a lock upgrade. PostgreSQL runs with its defaults (READ COMMITTED).

Use `read_session()` for pages that only read and `write_session()` (a context manager that
commits or rolls back) for every change.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from .migration_state import is_at_head

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# pg_advisory_lock(key, schema) while migrating: workers migrating one schema take turns;
# schemas of their own (one per test, one per tenant) migrate side by side
PG_MIGRATION_LOCK = 7_420_042
PG_SCHEMA_KEY = "hashtext(current_schema())"


class _NoRowsInLogs(logging.Filter):
    """SQLAlchemy logs every result row at DEBUG ("Row (...)", "Col (...)"): names, policy
    numbers, staff notes. No logger setting may put them in a log, so those records are
    dropped whatever the level; statements stay (their parameters are hidden, see below)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


_ENGINE_LOGGER = logging.getLogger("sqlalchemy.engine.Engine")
if not any(isinstance(f, _NoRowsInLogs) for f in _ENGINE_LOGGER.filters):
    _ENGINE_LOGGER.addFilter(_NoRowsInLogs())


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, synchronous=FULL, busy_timeout, BEGIN IMMEDIATE."""
    # SQL errors never carry the statement's values (names, encrypted IDs) into logs or pages
    kwargs.setdefault("hide_parameters", True)
    # JSON columns (service snapshots, details) keep Chinese text as UTF-8 instead of \uXXXX
    # escapes: a request row about half the size (no SQLite overflow page), fewer WAL bytes
    kwargs.setdefault("json_serializer", _json_dumps)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite otherwise
            # starts transactions lazily and never with IMMEDIATE)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            # deleted or rewritten rows are overwritten with zeros, not left in free space
            # (personal data deleted by the retention job is gone from the file, issue 14)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # a lock wait ends like SQLite's busy timeout (an error page, 503) instead of hanging a
    # worker, e.g. behind a migration's ACCESS EXCLUSIVE lock queued behind this very request
    # (kept together with any `options` the URL gives, e.g. a search_path)
    given = make_url(url).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    connect_args = {"options": f"{given} -c lock_timeout={SQLITE_BUSY_TIMEOUT_MS}".strip(),
                    **kwargs.pop("connect_args", {})}
    # a connection the server dropped while it sat in the pool (a restart, an idle timeout)
    # is replaced before use instead of failing a request
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, connect_args=connect_args, **kwargs)


class Database:
    """An engine with a reader and a writer session factory."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_engine = self.engine.execution_options(sqlite_immediate=True)
        self._writer = sessionmaker(self._writer_engine, expire_on_commit=False)
        db_file = self.engine.url.database if self.is_sqlite else None
        self._lock_path = f"{db_file}.writers" if db_file and db_file != ":memory:" else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def read_connection(self) -> Connection:
        """A Core connection for reads (its transaction is rolled back when it closes)."""
        return self.engine.connect()

    def read_session(self) -> Session:
        return self._reader()

    @contextlib.contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error."""
        with self._writer_turn():
            session = self._writer()
            try:
                with session.begin():
                    yield session
            finally:
                session.close()

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction (the same lock and durability as
        `write_session`, without the ORM): committed on success, rolled back on error."""
        with self._writer_turn(), self._writer_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """SQLite: writers of every process queue on a lock file next to the database, polled
        every 0.5 ms, instead of in SQLite's busy handler, which sleeps up to 100 ms between
        tries (the tail latency of concurrent submissions). Bounded by the busy timeout; past
        it, SQLite's own locking decides as before."""
        path = self._lock_path
        if path is None:
            yield
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.0005)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- migrations ------------------------------------------------------------
    def upgrade(self, lock_dir: Path | None = None) -> None:
        """Apply every Alembic migration; safe when several workers start at once."""
        if self.is_sqlite:
            lock_path = (lock_dir / "migrate.lock") if lock_dir else self._sqlite_lock_path()
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            with open(lock_path, "w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    self._run_upgrade()
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as conn:
                conn.execute(text(f"SELECT pg_advisory_lock(:k, {PG_SCHEMA_KEY})"),
                             {"k": PG_MIGRATION_LOCK})
                conn.commit()
                try:
                    self._run_upgrade()
                finally:
                    conn.execute(text(f"SELECT pg_advisory_unlock(:k, {PG_SCHEMA_KEY})"),
                                 {"k": PG_MIGRATION_LOCK})
                    conn.commit()

    def _sqlite_lock_path(self) -> Path:
        """`<database file>.migrate.lock`, or one in the temp folder for in-memory databases."""
        database = self.engine.url.database
        if database and database != ":memory:":
            return Path(database + ".migrate.lock")
        import tempfile

        return Path(tempfile.gettempdir()) / "forms_app-memory.migrate.lock"

    def _run_upgrade(self) -> None:
        with self.engine.begin() as conn:
            if is_at_head(conn, MIGRATIONS / "versions"):
                return
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg
