"""`flask --app forms_app create-staff USERNAME` and `flask --app forms_app send-outbox`."""

from __future__ import annotations

import os
import re

import click
from sqlalchemy import select

from ..extensions import get_crypto, get_db
from ..models import AuditLog, StaffUser
from ..notify import send_pending, sender_from_env
from . import bp
from .auth import MIN_PASSWORD_LENGTH, hash_password

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


@bp.cli.command("create-staff")
@click.argument("username")
@click.option("--reset", is_flag=True, help="Set a new password for an existing account "
              "(signs out its sessions).")
def create_staff(username: str, reset: bool) -> None:
    """Create a staff account. The password comes from STAFF_PASSWORD or is prompted for."""
    if not USERNAME_RE.match(username):
        raise click.BadParameter("2-64 letters, digits, '.', '_' or '-'", param_hint="USERNAME")
    password = os.environ.get("STAFF_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with get_db().write_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is not None and not reset:
            raise click.ClickException(f"staff user {username!r} exists (use --reset)")
        if user is None:
            s.add(StaffUser(username=username, password_hash=hash_password(password),
                            active=True, session_version=1))
            action = "staff_created"
        else:
            user.password_hash = hash_password(password)
            user.session_version += 1
            user.active = True
            action = "staff_password_reset"
        s.add(AuditLog(actor="cli", action=action, request_id=None,
                       details={"username": username}))
    click.echo(f"{action.replace('_', ' ')}: {username}")


@bp.cli.command("send-outbox")
@click.option("--limit", default=500, show_default=True)
def send_outbox(limit: int) -> None:
    """Send queued messages to applicants (OUTBOX_SENDER=log|smtp, see forms_app/notify.py)."""
    report = send_pending(get_db(), get_crypto(), sender_from_env(), limit=limit)
    click.echo(f"sent {report.sent}, failed {report.failed}")
    if report.failed:
        raise SystemExit(1)
