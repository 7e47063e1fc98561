"""The staff console (/staff/...): sign-in, queue, request page with flow steps and events,
audit trail, reports. Registered by `create_app` as `staff.bp`.

Everything under /staff except the sign-in page and the console's stylesheet needs a signed-in
staff account (`require_staff` runs before every view of the blueprint). Sessions last at most
`STAFF_SESSION_LIFETIME` seconds after sign-in (8 hours by default) and end sooner when idle
for `PERMANENT_SESSION_LIFETIME`; then the next page asks for the password again.

Commands (top level, not grouped): `flask --app forms_app create-staff USERNAME` and
`flask --app forms_app send-outbox`.
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
               static_folder="static", cli_group=None)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    from .auth import init_login

    init_login(state.app)


from . import audit_guard, auth, cli, reports, views  # noqa: E402,F401  (routes register on import)
