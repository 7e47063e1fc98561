"""Messages that keep failing (/staff/messages): unsent messages whose last try failed, with
the recipient masked, the error, the attempts and when the next try is; after MAX_ATTEMPTS
they are not tried again and staff must reach the applicant another way. The console's
navigation shows how many there are."""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..storage import get_db
from ..storage.outbox import MAX_ATTEMPTS, failing_count, failing_messages
from . import bp


@bp.context_processor
def _failing_context() -> dict[str, Any]:
    # a callable: counted only where the navigation is drawn (signed in)
    return {"failing_total": lambda: failing_count(get_db())}


@bp.get("/messages")
def failing_page() -> Any:
    return render_template("staff/failing.html", messages=failing_messages(get_db()),
                           max_attempts=MAX_ATTEMPTS)
