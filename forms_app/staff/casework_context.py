"""What the request page shows of staff working together: the internal notes, an undo form
for each event staff may undo, the events undone (who, when, why), reopening an ended
request, and the request's messages that keep failing. `views._render_request` adds it."""

from __future__ import annotations

from typing import Any

from service_rules.workflow import REOPENABLE_STATUSES

from ..content import get_rules
from ..storage import get_crypto, get_db
from ..storage.casework import event_name, may_undo, undone_events
from ..storage.models import ServiceRequest
from ..storage.notes import notes_for
from ..storage.outbox import failing_messages
from .casework_forms import NoteForm, ReopenForm, UndoForm


def undo_prefix(event_row_id: int) -> str:
    return f"undo-{event_row_id}"


def casework_parts(req: ServiceRequest, posted: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Template values; `posted` holds a form that failed ("note", "reopen", or "undo":
    (event row id, form)) so it is shown again with its messages and what was typed."""
    posted = posted or {}
    db = get_db()
    rules = get_rules()
    deleted = req.personal_data_deleted_at is not None
    undo_posted = posted.get("undo")
    undo_forms: dict[int, UndoForm] = {}
    for e in req.events:
        if not may_undo(req, e):
            continue
        if undo_posted and undo_posted[0] == e.id:
            undo_forms[e.id] = undo_posted[1]
        else:
            undo_forms[e.id] = UndoForm(prefix=undo_prefix(e.id), formdata=None)
    reopenable = req.status in REOPENABLE_STATUSES and not deleted
    return {
        "notes": [] if deleted else notes_for(db, get_crypto(), req.id),
        "note_form": None if deleted else posted.get("note") or NoteForm(formdata=None),
        "undo_forms": undo_forms,
        "undo_open": undo_posted[0] if undo_posted else None,
        "undone": [{"e": e, "name": event_name(rules, req.service_snapshot, e.event_id)}
                   for e in undone_events(db, req.id)],
        "reopen_form": (posted.get("reopen") or ReopenForm(formdata=None)) if reopenable
        else None,
        "failing": failing_messages(db, request_id=req.id),
    }
