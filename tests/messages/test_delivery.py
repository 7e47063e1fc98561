"""Delivery for real: the default log sender says it delivers nothing; SMTP against a real
SMTP server the test starts (aiosmtpd on a socket the test opened); a refused message is
retried with back-off and its error stored and logged without the recipient in clear."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess

import pytest
from flask import Flask
from sqlalchemy import select

from forms_app.messages.senders import SmtpSender, sender_from_config
from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import Outbox
from forms_app.storage.outbox import MAX_ATTEMPTS, failing_messages, retry_delay, send_pending
from service_rules.identity import format_reference
from tests.messages.test_submission_message import BASE, apply, outbox
from tests.support.forms import VALID_PHONE
from tests.support.outbox_cli import FLASK, cli_env
from tests.support.smtp_sink import SmtpSink


def test_the_log_sender_says_nothing_was_delivered(make_app, rules) -> None:
    app = make_app()
    apply(app.test_client(), rules, "second_opinion")
    # the command as a developer runs it, in a process of its own
    done = subprocess.run([str(FLASK), "--app", "forms_app", "send-outbox"], env=cli_env(app),
                          capture_output=True, text=True, timeout=120, cwd=app.instance_path)
    assert done.returncode == 0, done.stderr
    assert "written to the log 1, delivered 0" in done.stdout
    assert "set OUTBOX_SENDER=smtp or aliyun" in done.stdout and "sent 1" not in done.stdout
    # and sees the message on the console, the phone masked
    assert "138****8000" in done.stderr and "我们已收到您的" in done.stderr
    assert VALID_PHONE not in done.stderr + done.stdout
    [row] = outbox(app)
    assert row.sent_at is not None   # handled: not written to the log again next time


def test_smtp_delivers_to_a_real_server(make_app, rules) -> None:
    with SmtpSink() as sink:
        app = make_app(PUBLIC_BASE_URL=BASE, **sink.smtp_config())
        ref, _ = apply(app.test_client(), rules, "green_channel")
        [queued] = outbox(app)
        result = app.test_cli_runner().invoke(args=["send-outbox"])
        assert result.exit_code == 0, result.output
        assert "delivered 1 by smtp, failed 0" in result.output
        [mail] = sink.messages
    assert mail.rcpt_tos == (f"{VALID_PHONE}@sms-gateway.example.cn",)
    assert mail.mail_from == "noreply@cancer-care.example.cn"
    assert mail.message["To"] == f"{VALID_PHONE}@sms-gateway.example.cn"
    assert str(mail.message["Subject"]) == f"申请 {format_reference(ref)}"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.body.rstrip("\n") == queued.body       # the Chinese text intact
    assert f"outbox-{queued.id}" in mail.message["Message-ID"]
    [sent] = outbox(app)
    assert sent.sent_at is not None and sent.attempts == 1 and sent.last_error is None
    # sent once: a second run sends nothing
    again = app.test_cli_runner().invoke(args=["send-outbox"])
    assert "delivered 0 by smtp" in again.output and len(sink.messages) == 1


def test_a_refused_message_is_retried_with_backoff(make_app, rules, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpSink(refuse=f"550 5.1.1 <{VALID_PHONE}@sms-gateway.example.cn> unknown") as sink:
        app = make_app(**sink.smtp_config())
        apply(app.test_client(), rules, "second_opinion")
        result = app.test_cli_runner().invoke(args=["send-outbox"])
        assert result.exit_code == 1 and "delivered 0 by smtp, failed 1" in result.output
        [row] = outbox(app)
        assert row.sent_at is None and row.attempts == 1
        assert "SMTPDataError" in row.last_error and "550" in row.last_error
        # the server quoted the address: stored with the phone masked
        assert VALID_PHONE not in row.last_error and "138****8000" in row.last_error
        assert row.next_attempt_at is not None
        wait = row.next_attempt_at - dt.datetime.now(dt.UTC)
        assert dt.timedelta(seconds=50) < wait <= retry_delay(1)
        # not tried again before the back-off ends
        with app.app_context():
            sender = sender_from_config(app.config)
            assert send_pending(get_db(), get_crypto(), sender).failed == 0
            # then again, each wait twice the last, until MAX_ATTEMPTS
            when = dt.datetime.now(dt.UTC)
            for attempt in range(2, MAX_ATTEMPTS + 1):
                when += retry_delay(attempt - 1) + dt.timedelta(seconds=1)
                report = send_pending(get_db(), get_crypto(), sender, now=when)
                assert report.failed == 1, attempt
            assert send_pending(get_db(), get_crypto(), sender,
                                now=when + dt.timedelta(days=1)).failed == 0
            [failing] = failing_messages(get_db())
        assert failing.attempts == MAX_ATTEMPTS and failing.recipient_masked == "138****8000"
        given_up = app.test_cli_runner().invoke(args=["send-outbox"])
        assert f"1 message(s) not sent after {MAX_ATTEMPTS} tries" in given_up.output
    assert retry_delay(2) == 2 * retry_delay(1) and retry_delay(20) == dt.timedelta(hours=1)
    # our own log lines (the test's SMTP server logs what it received, as servers do)
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name.startswith("forms_app"))
    assert VALID_PHONE not in logged and "138****8000" in logged


def test_smtp_recipient_template_and_unknown_sender(app: Flask) -> None:
    with pytest.raises(ValueError, match="SMTP_HOST"):
        SmtpSender({"SMTP_HOST": ""})
    with pytest.raises(ValueError, match="OUTBOX_SENDER='fax'"):
        sender_from_config({"OUTBOX_SENDER": "fax"})
    result = app.test_cli_runner().invoke(args=["send-outbox"], env={})
    assert result.exit_code == 0
    app.config["OUTBOX_SENDER"] = "fax"
    bad = app.test_cli_runner().invoke(args=["send-outbox"])
    assert bad.exit_code == 2 and "is not a sender" in bad.output


def test_a_withdrawn_request_is_not_sent(make_app, rules) -> None:
    with SmtpSink() as sink:
        app = make_app(**sink.smtp_config())
        ref, _ = apply(app.test_client(), rules, "second_opinion")
        with app.app_context(), get_db().write_session() as s:
            from forms_app.storage.models import ServiceRequest

            req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
            req.status = "withdrawn"   # as if the withdrawal raced the queued message
        result = app.test_cli_runner().invoke(args=["send-outbox"])
        assert "dropped 1" in result.output and sink.messages == []
    with app.app_context(), get_db().read_session() as s:
        assert s.scalars(select(Outbox)).all() == []


def test_a_worker_killed_while_sending_leaves_the_row_for_after_the_lease(make_app, rules) -> None:
    """A claim is a lease: while it runs no other worker takes the row; after it (the worker
    died between claiming and recording), the row is sent again."""
    from forms_app.storage.outbox import CLAIM_LEASE, SendReport, _claim

    app = make_app()
    apply(app.test_client(), rules, "second_opinion")
    with app.app_context():
        db, crypto = get_db(), get_crypto()
        now = dt.datetime.now(dt.UTC)
        [claimed] = _claim(db, crypto, now, 10, SendReport())   # ... and the worker dies
        assert claimed.recipient == VALID_PHONE and claimed.attempt == 1

        class Recorder:
            delivers = True
            sent: list = []

            def send(self, message) -> None:
                self.sent.append(message)

        other = Recorder()
        assert send_pending(db, crypto, other, now=now + CLAIM_LEASE / 2).sent == 0
        assert send_pending(db, crypto, other,
                            now=now + CLAIM_LEASE + dt.timedelta(seconds=1)).delivered == 1
        assert [m.outbox_id for m in other.sent] == [claimed.outbox_id]
        assert other.sent[0].attempt == 2
