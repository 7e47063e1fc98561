"""The stored due state of a request (`service_request.next_due`, `next_due_promise`): what
the staff queue orders and counts by in SQL.

Promises are still computed, never trusted from storage, on every page that shows them; the
stored date is a copy for ordering, so every path that changes a request's events or status
calls `refresh_due_state` in its own transaction: `casework.record_event`,
`documents.add_documents`, `withdrawal.withdraw`, the deletion job, and any new one (undo an
event, reopen). Creation (online and hotline, `requests.create_request`) stores
`opening_due_state` with the request's first row. `refresh_all` recomputes every open request
(`flask --app forms_app refresh-queue`, once after upgrading to migration 0009).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service_rules.queue_order import DueState, due_state, earliest_open
from service_rules.workcalendar import WorkCalendar
from service_rules.workflow import CLOSED_STATUSES, OPEN_STATUSES

from .database import Database
from .models import ServiceRequest


def refresh_due_state(cal: WorkCalendar | None, req: ServiceRequest) -> DueState:
    """Recompute and set the request's stored due state from its events and status, in the
    caller's session (flushed with it); returns the new state. Without the calendar (`cal`
    None) only a closed request can be done (nothing falls due); an open one is a ValueError:
    the caller must pass `rules.calendar`."""
    if cal is None:
        if req.status not in CLOSED_STATUSES:
            raise ValueError("an open request's due state needs the working-day calendar")
        state = DueState()
    else:
        state = due_state(cal, req.service_snapshot, req.use_id, req.event_dates(), req.status)
    req.next_due, req.next_due_promise = state.next_due, state.promise_id
    return state


def opening_due_state(snapshot: dict[str, Any], initial_promises: list[dict[str, Any]],
                      events: dict[str, Any], status: str) -> dict[str, Any]:
    """The due columns of a new request's row, from the promises the engine computed when it
    opened (`NewRequest.initial_promises`: the same engine, the same events)."""
    dated = [(p["promise_id"], dt.date.fromisoformat(p["date"]) if p.get("date") else None)
             for p in initial_promises]
    state = earliest_open(snapshot, dated, events, status)
    return {"next_due": state.next_due, "next_due_promise": state.promise_id}


def refresh_all(db: Database, cal: WorkCalendar, batch: int = 500) -> tuple[int, int]:
    """Recompute the due state of every open request, in batches; returns (read, changed)."""
    read = changed = 0
    last_id = 0
    while True:
        with db.write_session() as s:
            rows = list(s.scalars(
                select(ServiceRequest).options(selectinload(ServiceRequest.events))
                .where(ServiceRequest.status.in_(OPEN_STATUSES), ServiceRequest.id > last_id)
                .order_by(ServiceRequest.id).limit(batch)))
            for req in rows:
                before = (req.next_due, req.next_due_promise)
                refresh_due_state(cal, req)
                changed += before != (req.next_due, req.next_due_promise)
            read += len(rows)
        if len(rows) < batch:
            return read, changed
        last_id = rows[-1].id
