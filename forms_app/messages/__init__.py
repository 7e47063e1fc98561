"""Telling the applicant: the texts of their messages, the status link in them, and the
senders that deliver the outbox (`flask --app forms_app send-outbox [--loop]`)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click
from flask import Flask, current_app

from .senders import Sender, sender_from_config

# the log sender writes here; the command shows these lines on the console
SENDER_LOGGER = "forms_app.messages.senders"


def _console_log() -> None:
    """Let a developer running `send-outbox` see the log sender's lines (and the warnings of
    failed tries) on stderr, when no logging is set up (flask's CLI sets up none)."""
    logger = logging.getLogger("forms_app")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def describe(report: Any, sender: Sender) -> str:
    """What one run did, saying plainly when nothing was delivered."""
    name = getattr(sender, "name", type(sender).__name__)
    parts = []
    if getattr(sender, "delivers", True):
        parts.append(f"delivered {report.delivered} by {name}")
    else:
        parts.append(f"written to the log {report.logged}, delivered 0 (OUTBOX_SENDER=log "
                     "does not deliver: set OUTBOX_SENDER=smtp or aliyun)")
    parts.append(f"failed {report.failed}")
    if report.dropped:
        parts.append(f"dropped {report.dropped} (request withdrawn)")
    return ", ".join(parts)


def init_app(app: Flask) -> None:
    # imported here: storage.outbox itself imports this package's senders and texts
    from ..storage import get_crypto, get_db
    from ..storage.outbox import MAX_ATTEMPTS, outbox_counts, send_pending

    @app.cli.command("send-outbox")
    @click.option("--limit", default=500, show_default=True,
                  help="messages per run (per round with --loop)")
    @click.option("--loop", is_flag=True, help="keep running as a worker until stopped")
    @click.option("--interval", default=5.0, show_default=True,
                  help="seconds between rounds with --loop")
    def send_outbox(limit: int, loop: bool, interval: float) -> None:
        """Send queued messages to applicants (OUTBOX_SENDER=log|smtp|aliyun)."""
        _console_log()
        try:
            sender = sender_from_config(current_app.config)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        db, crypto = get_db(), get_crypto()
        if not loop:
            report = send_pending(db, crypto, sender, limit=limit)
            click.echo(describe(report, sender))
            given_up = outbox_counts(db).given_up
            if given_up:
                click.echo(f"{given_up} message(s) not sent after {MAX_ATTEMPTS} tries: "
                           "staff must reach these applicants another way")
            if report.failed:
                raise SystemExit(1)
            return
        # a worker: several may run at once, on several hosts (see storage/outbox.py);
        # SIGTERM or Ctrl-C ends it after the message being sent
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: stop.set())
        click.echo(f"send-outbox worker: every {interval:g} s by "
                   f"{getattr(sender, 'name', type(sender).__name__)}")
        while not stop.is_set():
            try:
                report = send_pending(db, crypto, sender, limit=limit)
            except Exception as exc:  # noqa: BLE001 - e.g. the database restarting: go on
                click.echo(f"send-outbox: round failed ({type(exc).__name__}); trying again",
                           err=True)
                stop.wait(interval)
                continue
            if report.sent or report.failed or report.dropped:
                click.echo(describe(report, sender))
            if report.sent < limit:  # a full round: more may be waiting, go on at once
                stop.wait(interval)
        click.echo("send-outbox worker stopped")
