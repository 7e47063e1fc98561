"""Faults against the real server (gunicorn): SIGKILL in the middle of concurrent submissions,
the database locked by another connection, on SQLite and on PostgreSQL.

After each run: every request that was acknowledged (the redirect to its confirmation with a
reference number) is in the database whole (name, ID number, phone, file, first event, audit
row), no document row lacks its file, and once `sweep-uploads` has run no file lacks its row.
A submission whose answer never arrived is sent again with the same form token after the
restart: it is stored once, never twice.
"""

from __future__ import annotations

import http.client
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from forms_app import create_app
from forms_app.storage.database import Database
from forms_app.storage.models import ServiceRequest
from tests.support.consistency import (
    acknowledged_problems,
    count_requests,
    document_names,
    store_problems,
    stored_files,
)
from tests.support.gunicorn_harness import (
    PDF_BYTES,
    SUBMIT_PATH,
    Client,
    GunicornServer,
    Submission,
    csrf_token,
    reference_from,
    second_opinion_submission,
    submission_token,
)
from tests.support.hostile_cases import count_outcome

pytestmark = pytest.mark.slow

CLIENTS = 6
MAX_PER_CLIENT = 150          # bound on each client's submissions
KILL_AFTER_ACKS = 24          # SIGKILL once this many requests were acknowledged
RUN_CAP_S = 60.0


# a connection the kill cut: refused or reset, or a response cut short (IncompleteRead)
DROPPED = (OSError, http.client.HTTPException)


class Load:
    """CLIENTS threads submitting valid requests until stopped; records every outcome."""

    def __init__(self, server: GunicornServer, clients: int = CLIENTS):
        self.server = server
        self.acked: dict[str, Submission] = {}
        # sent, no answer (connection dropped), with the browser session that sent it
        self.unknown: list[tuple[Submission, Client]] = []
        self.refused: list[tuple[int, bytes]] = []  # answered, but not with a reference
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        client = Client(self.server.base_url, timeout=30)
        deadline = time.monotonic() + RUN_CAP_S
        for _ in range(MAX_PER_CLIENT):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:  # each submission from a form page of its own, as a browser sends it
                page = client.get(SUBMIT_PATH)[2]
            except DROPPED:
                continue
            sub = second_opinion_submission(csrf_token(page), token=submission_token(page))
            try:
                status, headers, body = client.post_multipart(SUBMIT_PATH, sub.fields, sub.files)
            except DROPPED:
                with self.lock:
                    self.unknown.append((sub, client))
                if self.stop.is_set():
                    return
                continue
            ref = reference_from(status, headers)
            with self.lock:
                if ref:
                    self.acked[ref] = sub
                else:
                    self.refused.append((status, body))

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def wait_for_acks(self, n: int) -> None:
        deadline = time.monotonic() + RUN_CAP_S
        while len(self.acked) < n and time.monotonic() < deadline:
            if not any(t.is_alive() for t in self.threads):
                break
            time.sleep(0.01)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=RUN_CAP_S)
        assert not any(t.is_alive() for t in self.threads)


def sweep_orphans(server: GunicornServer) -> str:
    """Run the app's `sweep-uploads --older-than 0` against the server's database and folder
    (the server is stopped: no upload is in flight)."""
    app = create_app({"DATABASE_URL": server.database_url, "UPLOAD_DIR": str(server.upload_dir),
                      "SECRET_KEY": server.secret_key, "DATA_KEY": server.data_key,
                      "HASH_KEY": server.hash_key, "TESTING": True})
    try:
        result = app.test_cli_runner().invoke(args=["sweep-uploads", "--older-than", "0"])
        assert result.exit_code == 0, result.output
        return result.output
    finally:
        app.extensions["forms_db"].dispose()


def crypto_of(server: GunicornServer) -> Any:
    from forms_app.storage.crypto import Crypto

    return Crypto(server.data_key, server.hash_key)


def resubmit_unknown(server: GunicornServer, unknown: list[tuple[Submission, Client]]
                     ) -> dict[str, Submission]:
    """Send each submission whose answer was lost again from the same browser (its session
    cookie), same form token: one request each."""
    acked: dict[str, Submission] = {}
    for sub, sender in unknown:
        client = Client(server.base_url)
        client.cookies = dict(sender.cookies)
        token = csrf_token(client.get(SUBMIT_PATH)[2])
        fields = [(k, token if k == "csrf_token" else v) for k, v in sub.fields]
        status, headers, body = client.post_multipart(SUBMIT_PATH, fields, sub.files)
        ref = reference_from(status, headers)
        assert ref, (status, body[:300])
        acked[ref] = sub
    return acked


def tokens_stored_once(database_url: str, subs: list[Submission]) -> None:
    db = Database(database_url)
    try:
        with db.read_session() as s:
            for sub in subs:
                n = s.scalar(select(func.count()).select_from(ServiceRequest).where(
                    ServiceRequest.submission_token == sub.token))
                assert n == 1, sub.token
    finally:
        db.dispose()


def crash_and_recover(server: GunicornServer) -> None:
    server.start()
    load = Load(server).start()
    load.wait_for_acks(KILL_AFTER_ACKS)
    acked_before_kill = len(load.acked)
    server.kill()                         # SIGKILL: master and workers, mid-request
    load.finish()
    assert acked_before_kill >= KILL_AFTER_ACKS, server.log_tail()
    assert not [s for s, _b in load.refused if s >= 500], load.refused[:3]

    server.start()                        # restart on the same database and folder
    try:
        crypto = crypto_of(server)
        assert acknowledged_problems(str(server.database_url), server.upload_dir, crypto,
                                     load.acked, PDF_BYTES) == []
        assert store_problems(str(server.database_url), server.upload_dir, crypto,
                              allow_orphans=True) == []
        # the answer was lost, the request may or may not be stored: sending it again
        # gives one request either way
        again = resubmit_unknown(server, load.unknown)
        tokens_stored_once(str(server.database_url), [sub for sub, _c in load.unknown])
        assert acknowledged_problems(str(server.database_url), server.upload_dir, crypto,
                                     again, PDF_BYTES) == []
        stored = count_requests(str(server.database_url))
        assert stored == len(load.acked) + len(again)
    finally:
        server.stop()
    orphans = stored_files(server.upload_dir) - document_names(str(server.database_url))
    for _ in orphans:
        count_outcome("orphan files swept after SIGKILL")
    sweep_orphans(server)  # files written by requests killed before their commit
    assert store_problems(str(server.database_url), server.upload_dir, crypto_of(server)) == []


def test_sigkill_mid_submissions_loses_nothing_acknowledged_sqlite(tmp_path: Path) -> None:
    crash_and_recover(GunicornServer(tmp_path, workers=2))


@pytest.mark.postgres
def test_sigkill_mid_submissions_loses_nothing_acknowledged_postgres(
        tmp_path: Path, pg_scratch_url: str) -> None:
    crash_and_recover(GunicornServer(tmp_path, database_url=pg_scratch_url, workers=2))


# -- the database locked by someone else ------------------------------------------------------
def run_with_lock(server: GunicornServer, hold: Callable[[threading.Event], None],
                  min_acks: int = 10) -> Load:
    """Submissions run while `hold` keeps the database locked; returns the finished load."""
    released = threading.Event()
    with server:
        load = Load(server, clients=4).start()
        load.wait_for_acks(3)
        holder = threading.Thread(target=hold, args=(released,), daemon=True)
        holder.start()
        released.wait(timeout=RUN_CAP_S)
        load.wait_for_acks(len(load.acked) + min_acks)  # and it goes on after the lock
        load.finish()
        holder.join(timeout=RUN_CAP_S)
    crypto = crypto_of(server)
    assert acknowledged_problems(str(server.database_url), server.upload_dir, crypto,
                                 load.acked, PDF_BYTES) == []
    assert store_problems(str(server.database_url), server.upload_dir, crypto) == []
    assert count_requests(str(server.database_url)) == len(load.acked)
    assert load.unknown == []  # every submission got an answer
    return load


def sqlite_holder(path: Path, seconds: float) -> Callable[[threading.Event], None]:
    def hold(released: threading.Event) -> None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()
            released.set()
    return hold


def test_sqlite_briefly_locked_submissions_wait(tmp_path: Path) -> None:
    server = GunicornServer(tmp_path, workers=2)
    load = run_with_lock(server, sqlite_holder(tmp_path / "forms.db", 2.0))
    assert load.refused == [], [(s, b[:200]) for s, b in load.refused[:3]]


def test_sqlite_locked_past_the_busy_timeout_fails_cleanly(tmp_path: Path) -> None:
    """Held longer than the 10 s busy timeout: waiting submissions get a 503 page that says
    what to do, never a 500 and never a lost acknowledged request."""
    server = GunicornServer(tmp_path, workers=2)
    load = run_with_lock(server, sqlite_holder(tmp_path / "forms.db", 11.5))
    assert load.refused, "some submission waited past the busy timeout"
    for status, body in load.refused:
        assert status == 503, (status, body[:300])
        assert "再提交一次".encode() in body


@pytest.mark.postgres
def test_postgres_locked_table_submissions_wait_or_fail_cleanly(
        tmp_path: Path, pg_scratch_url: str) -> None:
    """Another session takes ACCESS EXCLUSIVE on the requests table (as a migration would)
    for 2 s. Its lock request queues behind the app's open read transactions while the app's
    inserts queue behind it; the app's lock_timeout (10 s) ends the wait with a 503 page, the
    lock is then granted, and submissions go on. Nothing acknowledged is lost."""
    server = GunicornServer(tmp_path, database_url=pg_scratch_url, workers=2)

    def hold(released: threading.Event) -> None:
        url = pg_scratch_url.replace("postgresql+psycopg://", "postgresql://")
        try:
            with psycopg.connect(url) as conn:
                conn.execute("LOCK TABLE service_request IN ACCESS EXCLUSIVE MODE")
                time.sleep(2.0)
                conn.rollback()
        finally:
            released.set()

    load = run_with_lock(server, hold)
    for status, body in load.refused:
        assert status == 503, (status, body[:300])
