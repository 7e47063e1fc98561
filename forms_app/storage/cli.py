"""Storage commands: `flask --app forms_app db-upgrade | rotate-keys | sweep-uploads |
apply-retention | refresh-queue`."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from service_rules.deadlines import shanghai_today

from . import get_crypto, get_db, pending
from .files import fsync_dir
from .models import CaseworkNote, Outbox, RequestDocument, ServiceRequest


def register_cli(app: Flask) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply the database migrations."""
        get_db().upgrade(lock_dir=Path(current_app.instance_path))
        click.echo("database is up to date")

    @app.cli.command("rotate-keys")
    def rotate_keys() -> None:
        """Re-encrypt ID numbers, phones, notes and files under the first key in DATA_KEY."""
        crypto = get_crypto()
        upload_dir = Path(current_app.config["UPLOAD_DIR"])
        rows = files = 0
        with get_db().write_session() as session:
            for req in session.scalars(select(ServiceRequest)):
                req.id_number_enc = crypto.rotate(req.id_number_enc.encode()).decode()
                req.phone_enc = crypto.rotate(req.phone_enc.encode()).decode()
                if req.applicant_phone_enc:
                    req.applicant_phone_enc = crypto.rotate(
                        req.applicant_phone_enc.encode()).decode()
                rows += 1
            # queued messages hold the recipient's phone, encrypted too
            for msg in session.scalars(select(Outbox).where(Outbox.recipient_enc.is_not(None))):
                msg.recipient_enc = crypto.rotate(msg.recipient_enc.encode()).decode()
            # staff's internal notes may hold health data, encrypted too (migration 0010)
            for note in session.scalars(select(CaseworkNote)):
                note.text_enc = crypto.rotate(note.text_enc.encode()).decode()
            for doc in session.scalars(select(RequestDocument)):
                path = upload_dir / doc.stored_name
                tmp = path.with_suffix(".rotating")
                with open(tmp, "wb") as fh:  # durable before it replaces the old file
                    # bound to the final name, not the temporary one
                    fh.write(crypto.rotate_file(path.read_bytes(), doc.stored_name))
                    fh.flush()
                    os.fsync(fh.fileno())
                tmp.replace(path)
                files += 1
            if files:
                # the renames must survive a crash too: once the old key is dropped, an old
                # file reappearing after a power cut could no longer be read
                fsync_dir(upload_dir)
        click.echo(f"re-encrypted {rows} requests and {files} files")

    @app.cli.command("sweep-uploads")
    @click.option("--older-than", default=3600, help="seconds")
    def sweep_uploads(older_than: int) -> None:
        """Delete stored files no request refers to (left by a crash before commit)."""
        upload_dir = Path(current_app.config["UPLOAD_DIR"])
        session = get_db().read_session()
        known = set(session.scalars(select(RequestDocument.stored_name)))
        session.close()
        cutoff = time.time() - older_than
        removed = 0
        for path in upload_dir.iterdir():
            if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        kept = pending.sweep(upload_dir)
        click.echo(f"removed {removed} orphaned files and {kept} files kept for abandoned forms")

    register_retention_cli(app)
    register_queue_cli(app)


def _today() -> dt.date:
    """Today in Asia/Shanghai, or `TODAY` from the config (a date or a callable: tests)."""
    value = current_app.config.get("TODAY")
    value = value() if callable(value) else value
    return value if isinstance(value, dt.date) else shanghai_today()


def register_retention_cli(app: Flask) -> None:
    @app.cli.command("apply-retention")
    @click.option("--loop", is_flag=True, help="Keep running: a scheduled worker.")
    @click.option("--interval", default=3600, show_default=True, help="seconds between runs")
    @click.option("--limit", default=1000, show_default=True, help="requests per run")
    def apply_retention_command(loop: bool, interval: int, limit: int) -> None:
        """Delete the personal data and files of requests whose retention has run out, and of
        withdrawn ones after the grace period (content/privacy.yaml). Safe on several hosts."""
        from ..content import get_rules
        from .retention import apply_retention

        settings = get_rules().content.privacy_file.retention
        while True:
            report = apply_retention(get_db(), Path(current_app.config["UPLOAD_DIR"]),
                                     settings, _today(), limit=limit)
            click.echo(report.line())
            if not loop:
                return
            time.sleep(interval)


def register_queue_cli(app: Flask) -> None:
    @app.cli.command("refresh-queue")
    def refresh_queue() -> None:
        """Recompute the stored next due date of every open request and fill the search
        hashes missing on older requests (once after migration 0009; safe to repeat)."""
        from ..content import get_rules
        from .queue_order import refresh_all
        from .search import backfill_hashes

        read, changed = refresh_all(get_db(), get_rules().calendar)
        filled = backfill_hashes(get_db(), get_crypto())
        click.echo(f"due dates: {read} open requests read, {changed} changed; "
                   f"search hashes filled for {filled} requests")
