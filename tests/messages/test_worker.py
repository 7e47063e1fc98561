"""`send-outbox --loop` as a worker: two real worker processes against one database (a
scratch PostgreSQL database of their own, and SQLite) with many queued messages and a real
SMTP server that is slow enough for both workers to be busy at once: every message is
delivered exactly once, every row is marked sent after one try, and both workers took part.
A worker stops cleanly on SIGTERM."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import Outbox
from tests.support.outbox_cli import FLASK, cli_env
from tests.support.pg_scratch import scratch_database
from tests.support.smtp_sink import SmtpSink

MESSAGES = 300
SINK_DELAY = 0.01   # seconds per message at the SMTP server: 3 s of work for one worker


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.db'}"
        return
    with scratch_database() as url:
        if url is None:
            if os.environ.get("REQUIRE_POSTGRES") == "1":
                pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) and unreachable")
            pytest.skip("PostgreSQL is not reachable")
        yield url


def queue_messages(app: Flask, count: int) -> list[str]:
    """`count` queued messages, each to its own phone; returns the phones."""
    phones = [f"139{i:08d}" for i in range(count)]
    with app.app_context(), get_db().write_session() as s:
        crypto = get_crypto()
        s.add_all(Outbox(channel="sms", recipient_enc=crypto.encrypt_text(phone),
                         recipient_masked=f"139****{phone[-4:]}", subject=f"申请 {i}",
                         body=f"【测试】第{i}条消息，中文正文。")
                  for i, phone in enumerate(phones))
    return phones


def start_worker(app: Flask, sink: SmtpSink) -> subprocess.Popen[str]:
    env = cli_env(app, **sink.smtp_config())
    return subprocess.Popen(
        [str(FLASK), "--app", "forms_app", "send-outbox", "--loop", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def unsent(app: Flask) -> int:
    with app.app_context(), get_db().read_session() as s:
        return s.scalar(select(func.count()).select_from(Outbox)
                        .where(Outbox.sent_at.is_(None))) or 0


def test_two_workers_send_each_message_exactly_once(make_app, database_url: str) -> None:
    app = make_app(DATABASE_URL=database_url)
    phones = queue_messages(app, MESSAGES)
    with SmtpSink(delay=SINK_DELAY) as sink:
        workers = [start_worker(app, sink) for _ in range(2)]
        try:
            deadline = time.monotonic() + 120
            while unsent(app) and time.monotonic() < deadline:
                assert all(w.poll() is None for w in workers), "a worker ended early"
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            outputs = [w.communicate(timeout=60) for w in workers]
        received = list(sink.messages)
    for w, (out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, (out, err)
        assert "send-outbox worker stopped" in out
    assert unsent(app) == 0
    # every message reached the server once: one mail per recipient, none twice
    counts = collections.Counter(m.rcpt_tos[0].split("@")[0] for m in received)
    assert sorted(counts) == sorted(phones)
    assert set(counts.values()) == {1}, counts.most_common(3)
    ids = collections.Counter(re.search(r"outbox-(\d+)", m.message["Message-ID"]).group(1)
                              for m in received)
    assert len(ids) == MESSAGES and set(ids.values()) == {1}
    with app.app_context(), get_db().read_session() as s:
        rows = list(s.scalars(select(Outbox)))
    assert all(r.sent_at is not None and r.attempts == 1 and r.last_error is None for r in rows)
    # both workers took part (each reports what it delivered, per round)
    delivered = [sum(int(n) for n in re.findall(r"delivered (\d+) by smtp", out))
                 for out, _err in outputs]
    assert sum(delivered) == MESSAGES and all(d > 0 for d in delivered), delivered
    # no recipient in clear in what the workers printed
    for out, err in outputs:
        assert not any(phone in out + err for phone in phones[:20])
