"""Who looked (/staff/access-log, supervisors only): every staff view of a request's personal
data from the audit log (the request page, a number shown in full, a document downloaded),
filtered by staff account, request and dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request
from flask_login import current_user

from service_rules.deadlines import SHANGHAI
from service_rules.identity import normalise_reference

from ..content import get_rules
from ..storage import get_db
from ..storage.audit import access_entries
from ..storage.staff import is_supervisor
from . import bp
from .views import REVEALABLE

LIMIT = 500


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight in Beijing of `day` as an aware instant (the dates staff type are Beijing's)."""
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


@bp.get("/access-log")
def access_log() -> Any:
    if not is_supervisor(get_db(), current_user.user_id):
        return render_template("staff/access_log.html", allowed=False), 403
    actor = (request.args.get("actor") or "").strip()[:64]
    typed = (request.args.get("reference") or "").strip()[:20]
    reference = normalise_reference(typed) if typed else ""
    since, until = _day(request.args.get("since", "")), _day(request.args.get("until", ""))
    entries = access_entries(
        get_db(), actor=actor or None, reference=reference or None,
        since=_start_of(since) if since else None,
        until=_start_of(until + dt.timedelta(days=1)) if until else None, limit=LIMIT)
    content = get_rules().content
    return render_template(
        "staff/access_log.html", allowed=True, entries=entries, limit=LIMIT,
        filters={"actor": actor, "reference": typed, "since": since.isoformat() if since else "",
                 "until": until.isoformat() if until else ""},
        revealable=REVEALABLE, doc_names={d.id: d.name for d in content.services_file.documents})
