"""Telling the applicant: the texts of their messages and the senders that deliver the outbox
(`flask --app forms_app send-outbox`)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .senders import sender_from_config


def init_app(app: Flask) -> None:
    # imported here: storage.outbox itself imports this package's senders
    from ..storage import get_crypto, get_db
    from ..storage.outbox import send_pending

    @app.cli.command("send-outbox")
    @click.option("--limit", default=500, show_default=True)
    def send_outbox(limit: int) -> None:
        """Send queued messages to applicants (OUTBOX_SENDER=log|smtp)."""
        report = send_pending(get_db(), get_crypto(), sender_from_config(current_app.config),
                              limit=limit)
        click.echo(f"sent {report.sent}, failed {report.failed}")
        if report.failed:
            raise SystemExit(1)
