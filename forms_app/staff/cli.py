"""`flask --app forms_app create-staff USERNAME [--reset]`."""

from __future__ import annotations

import os
import re

import click
from flask import current_app

from service_rules.passwords import password_problem

from ..storage import get_db
from ..storage.staff import AccountExists, save_account
from . import bp

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


@bp.cli.command("create-staff")
@click.argument("username")
@click.option("--reset", is_flag=True, help="Set a new password for an existing account "
              "(signs out its sessions).")
@click.option("--supervisor/--no-supervisor", default=None,
              help="Give (or take away) the supervisor role: may import the policy roster.")
def create_staff(username: str, reset: bool, supervisor: bool | None) -> None:
    """Create a staff account. The password comes from STAFF_PASSWORD or is prompted for."""
    if not USERNAME_RE.match(username):
        raise click.BadParameter("2-64 letters, digits, '.', '_' or '-'", param_hint="USERNAME")
    password = os.environ.get("STAFF_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, username=username)
    if problem:
        raise click.ClickException(problem)
    try:
        action = save_account(get_db(), username, password, reset=reset,
                              supervisor=supervisor,
                              hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    except AccountExists:
        raise click.ClickException(f"staff user {username!r} exists (use --reset)") from None
    click.echo(f"{action.replace('_', ' ')}: {username}"
               + (" (supervisor)" if supervisor else ""))
