"""The staff console (/staff/...): sign-in, queue, request page with flow steps and events,
audit trail, reports. `STAFF_CONSOLE=0` leaves it out (e.g. on a public host, with the console on
an internal one).

Everything under /staff except the sign-in page and the console's stylesheet needs a signed-in
staff account (`require_staff` runs before every view of the blueprint). Sessions last at most
`STAFF_SESSION_LIFETIME` seconds after sign-in (8 hours by default) and end sooner when idle
for `PERMANENT_SESSION_LIFETIME`; then the next page asks for the password again.

Command: `flask --app forms_app create-staff USERNAME`.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
               static_folder="static", cli_group=None)

from . import (  # noqa: E402,F401  (routes register on import)
    access_log,
    accounts,
    assignment,
    auth,
    cli,
    failing,
    intake,
    links,
    notes,
    queue,
    register,
    reports,
    undo,
    views,
)


def init_app(app: Flask) -> None:
    auth.login_manager.init_app(app)
    app.register_blueprint(bp)
