"""Requests as the staff console reads and changes them. No Flask: takes the database, the rules
and plain values, so tests and commands can call it directly.

`record_event` is the one write path for staff events: in a single transaction it adds the
event, moves the request's status, writes the audit entry (with the promised dates before and
after) and queues the applicant's message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from service_rules import Rules
from service_rules.deadlines import shanghai_date
from service_rules.promises import PromiseState, compute_promises, snapshot_model
from service_rules.retention import WITHDRAWN_EVENT, WITHDRAWN_EVENT_NAME
from service_rules.workflow import (
    CLOSED_STATUSES,
    CLOSING_EVENTS,
    NOT_USED_STATUSES,
    REOPENABLE_STATUSES,
    STATUS_IN_PROGRESS,
    STATUS_OPEN,
    PromiseOutcome,
    counts_as_used,
    ends_request,
    fulfilling_events,
    promise_outcomes,
    staff_events,
    status_after,
    status_from_events,
)

from ..messages.texts import NOTIFY_EVENTS, event_message, reopened_message
from .audit import audit
from .database import Database
from .locking import lock_request
from .models import Outbox, RequestDocument, RequestEvent, ServiceRequest, utcnow
from .outbox import queue_event_message, queue_message
from .queue_order import refresh_due_state
from .status_links import LinkIssuer


class RequestClosed(Exception):
    """The request is completed, lapsed, declined or withdrawn: no more events."""


class EventNotAllowed(Exception):
    """The event is not one of this request's staff events."""


def event_name(rules: Rules, snapshot: dict[str, Any], event_id: str) -> str:
    """An event's name from the request's snapshot, else from the current content."""
    data = snapshot.get("events", {}).get(event_id)
    if data:
        return str(data["name"])
    found = rules.content.event_by_id.get(event_id)
    if found is None and event_id == WITHDRAWN_EVENT:
        return WITHDRAWN_EVENT_NAME  # recorded by the applicant, not an event of the content
    return found.name if found else event_id


def request_day(req: ServiceRequest) -> dt.date:
    """The date (Asia/Shanghai) the request was made: its `request` event."""
    days = [e.event_date for e in req.events if e.event_id == "request"]
    return min(days) if days else shanghai_date(req.created_at)


def closed_on(req: ServiceRequest) -> dt.date | None:
    days = [e.event_date for e in req.events if e.event_id in CLOSING_EVENTS]
    return max(days) if days else None


def outcomes_of(rules: Rules, req: ServiceRequest, today: dt.date) -> list[PromiseOutcome]:
    return promise_outcomes(rules.calendar, req.service_snapshot, req.use_id, req.event_dates(),
                            today, closed_on(req))


def load_requests(db: Database, *, statuses: Iterable[str] | None = None,
                  service_id: str | None = None, city_id: str | None = None
                  ) -> list[ServiceRequest]:
    """Requests (with their events) in the order they came in, optionally filtered."""
    query = select(ServiceRequest).options(selectinload(ServiceRequest.events))
    if statuses is not None:
        query = query.where(ServiceRequest.status.in_(list(statuses)))
    if service_id:
        query = query.where(ServiceRequest.service_id == service_id)
    if city_id:
        query = query.where(ServiceRequest.city_id == city_id)
    with db.read_session() as session:
        return list(session.scalars(query.order_by(ServiceRequest.created_at,
                                                   ServiceRequest.id)))


def find_request(db: Database, reference: str) -> ServiceRequest | None:
    """The request with its events and documents, or None."""
    with db.read_session() as session:
        return session.scalar(
            select(ServiceRequest).options(selectinload(ServiceRequest.events),
                                           selectinload(ServiceRequest.documents))
            .where(ServiceRequest.reference == reference))


def document_of(req: ServiceRequest, document_id: int) -> RequestDocument | None:
    """One of the request's own documents (never another request's)."""
    return next((d for d in req.documents if d.id == document_id), None)


def promise_dates(states: list[PromiseState]) -> dict[str, str | None]:
    return {p.promise_id: p.deadline.date.isoformat() if p.deadline else None for p in states}


@dataclass(frozen=True)
class Recorded:
    reference: str
    event_id: str
    status_before: str
    status_after: str
    before: dict[str, str | None]
    after: list[PromiseState]
    message_queued: bool

    @property
    def changed(self) -> dict[str, str | None]:
        """Promises whose date is new or moved by this event."""
        return {p.promise_id: p.deadline.date.isoformat() if p.deadline else None
                for p in self.after
                if (p.deadline.date.isoformat() if p.deadline else None)
                != self.before.get(p.promise_id)}


def _product_texts(rules: Rules, req: ServiceRequest) -> tuple[str, str]:
    """(product name, hotline) for the applicant's messages: as the request's snapshot has
    them, else today's content."""
    product = req.service_snapshot.get("product", {})
    return (product.get("name", rules.content.product.name),
            product.get("hotline", {}).get("display", rules.content.product.hotline.display))


def _still_due(service: Any, states: list[PromiseState], recorded: dict[str, dt.date]
               ) -> list[PromiseState]:
    """The promises not kept yet: one already kept (by the event just recorded or an earlier
    one) is no date to announce."""
    return [p for p in states
            if not any(e in recorded for e in fulfilling_events(service, p.promise_id))]


def record_event(db: Database, rules: Rules, reference: str, event_id: str,
                 event_date: dt.date, details: dict[str, Any], actor: str,
                 hospital_name: str | None = None,
                 status_link: str | LinkIssuer | None = None) -> Recorded:
    """Record a staff event on a request (see the module docstring); `status_link` (an
    issuer from messages/links.py: a new link stored in this transaction) goes at the end of
    the applicant's message."""
    with db.write_session() as s:
        req = lock_request(db, s, reference, selectinload(ServiceRequest.events))
        if req.status in CLOSED_STATUSES:
            raise RequestClosed(reference)
        service = snapshot_model(req.service_snapshot)
        if event_id not in staff_events(service, req.use_id):
            raise EventNotAllowed(event_id)
        cal = rules.calendar
        before = promise_dates(compute_promises(cal, req.service_snapshot, req.use_id,
                                                req.event_dates()))
        stored = dict(details)
        if counts_as_used(event_id):
            stored["counts_as_used"] = True
        req.events.append(RequestEvent(event_id=event_id, event_date=event_date,
                                       details=stored, recorded_by=actor))
        status_before = req.status
        req.status = status_after(req.status, event_id, service.flow[-1].event)
        after = compute_promises(cal, req.service_snapshot, req.use_id, req.event_dates())
        refresh_due_state(cal, req)
        s.flush()
        audit(s, actor, "event_recorded", req, event_id=event_id,
              event_date=event_date.isoformat(), event_details=stored,
              status_before=status_before, status_after=req.status,
              promises_before=before, promises_after=promise_dates(after))
        product_name, hotline = _product_texts(rules, req)
        link = status_link
        if isinstance(status_link, LinkIssuer):
            # a link is made (and stored) only for a message that is queued
            link = status_link.issue(s, req.id) if event_id in NOTIFY_EVENTS else None
        body = event_message(
            product_name=product_name, service_name=service.name, reference=req.reference,
            event_name=event_name(rules, req.service_snapshot, event_id), event_id=event_id,
            details=stored, promises=_still_due(service, after, req.event_dates()),
            hospital_name=hospital_name, status_link=link, hotline=hotline)
        queued = queue_event_message(s, req, event_id, body)
        return Recorded(req.reference, event_id, status_before, req.status, before, after,
                        queued)


# -- undoing an event, reopening an ended request ----------------------------------------------
# the request's opening and what the applicant did themselves are not staff's to undo
NOT_UNDOABLE = frozenset({"request", "documents_received", WITHDRAWN_EVENT})


class CannotUndo(Exception):
    """The event is already undone, or is not one staff may undo."""


class CannotReopen(Exception):
    """The request has not ended in a way staff may reopen (`why`: "not_ended", "deleted"),
    or reopening it would make a second use of the same service ("used", `other`)."""

    def __init__(self, why: str, other: str | None = None):
        super().__init__(why)
        self.why = why
        self.other = other


def may_undo(req: ServiceRequest, event: RequestEvent) -> bool:
    """Whether staff may undo `event` of `req` now (an ended request is reopened instead)."""
    return (req.status not in CLOSED_STATUSES and event.undone_at is None
            and event.event_id not in NOT_UNDOABLE and req.personal_data_deleted_at is None)


def _status_now(req: ServiceRequest, service: Any) -> str:
    """The status from the events that still count, in the order they were recorded; the
    request's opening events (marked with their `source`) and the applicant's uploads never
    moved it."""
    recorded = [e.event_id for e in sorted(req.events, key=lambda e: e.id)
                if "source" not in (e.details or {}) and e.event_id != "documents_received"]
    return status_from_events(recorded, service.flow[-1].event)


@dataclass(frozen=True)
class Changed:
    """What an undo or a reopening did: the status and promised dates before and after, the
    undone events' messages not sent yet (removed) and whether one had been sent already."""

    reference: str
    event_ids: tuple[str, ...]
    status_before: str
    status_after: str
    before: dict[str, str | None]
    after: dict[str, str | None]
    messages_cancelled: int = 0
    message_was_sent: bool = False


# record_event queues an event's message in the event's own transaction, just after the
# event's row: made from the event's time on, before the next event, within this
_SAME_TRANSACTION = dt.timedelta(minutes=1)


def _withdraw_messages(s: Any, req: ServiceRequest, events: list[RequestEvent]
                       ) -> tuple[int, bool]:
    """Remove the unsent messages of `events` (staff's, never the request's opening ones,
    whose message is the submission's); returns (removed, whether one was sent already)."""
    removed, sent = 0, False
    for event in events:
        if "source" in (event.details or {}):
            continue
        until = event.recorded_at + _SAME_TRANSACTION
        later = s.scalar(select(func.min(RequestEvent.recorded_at)).where(
            RequestEvent.request_id == req.id, RequestEvent.id > event.id))
        if later is not None:
            until = min(until, later)
        for message in s.scalars(select(Outbox).where(
                Outbox.request_id == req.id, Outbox.created_at >= event.recorded_at,
                Outbox.created_at < until)):
            if message.sent_at is None:
                s.delete(message)
                removed += 1
            else:
                sent = True
    return removed, sent


def undo_event(db: Database, rules: Rules, reference: str, event_row_id: int, reason: str,
               actor: str) -> Changed:
    """Mark one recorded event undone (kept, with who, when and why) in one transaction:
    the status and promises are recomputed without it and the audit entry holds the reason.
    Raises LookupError (no such request or event of it), RequestClosed, CannotUndo."""
    with db.write_session() as s:
        req = lock_request(db, s, reference, selectinload(ServiceRequest.events))
        event = next((e for e in req.events if e.id == event_row_id), None)
        if event is None:
            undone = s.get(RequestEvent, event_row_id)
            if undone is not None and undone.request_id == req.id:
                raise CannotUndo(event_row_id)  # undone already
            raise LookupError(event_row_id)
        if req.status in CLOSED_STATUSES:
            raise RequestClosed(reference)
        if not may_undo(req, event):
            raise CannotUndo(event_row_id)
        service = snapshot_model(req.service_snapshot)
        cal = rules.calendar
        before = promise_dates(compute_promises(cal, req.service_snapshot, req.use_id,
                                                req.event_dates()))
        event.undone_at, event.undone_by, event.undo_reason = utcnow(), actor, reason
        cancelled, was_sent = _withdraw_messages(s, req, [event])
        s.flush()
        s.expire(req, ["events"])  # read again through the join that leaves undone ones out
        status_before = req.status
        req.status = _status_now(req, service)
        after = promise_dates(compute_promises(cal, req.service_snapshot, req.use_id,
                                               req.event_dates()))
        refresh_due_state(cal, req)  # the queue's stored next due date, in this transaction
        # `undo_reason`, not `reason`: free text, redacted with the personal data
        audit(s, actor, "event_undone", req, event_id=event.event_id, event_row=event.id,
              event_date=event.event_date.isoformat(), undo_reason=reason,
              status_before=status_before, status_after=req.status,
              promises_before=before, promises_after=after, messages_cancelled=cancelled,
              message_was_sent=was_sent)
        return Changed(req.reference, (event.event_id,), status_before, req.status, before,
                       after, cancelled, was_sent)


def _other_use(s: Any, req: ServiceRequest) -> str | None:
    """The reference of another request that already uses the same service in the same
    policy year (reopening a declined or lapsed request would make it a use again)."""
    return s.scalar(select(ServiceRequest.reference).where(
        ServiceRequest.id != req.id, ServiceRequest.policy_number == req.policy_number,
        ServiceRequest.id_hash == req.id_hash, ServiceRequest.use_id == req.use_id,
        ServiceRequest.policy_year_start == req.policy_year_start,
        ServiceRequest.status.not_in(NOT_USED_STATUSES)).limit(1))


def reopen_request(db: Database, rules: Rules, reference: str, reason: str, actor: str,
                   status_link: LinkIssuer | None = None) -> Changed:
    """Reopen an ended (completed, lapsed, declined) request: the event that ended it is
    marked undone with the reason, the request is in progress again and its promises are
    recomputed (the ended step is to be done again), audited with the reason. Raises
    LookupError or CannotReopen."""
    with db.write_session() as s:
        req = lock_request(db, s, reference, selectinload(ServiceRequest.events))
        if req.personal_data_deleted_at is not None:
            raise CannotReopen("deleted")
        if req.status not in REOPENABLE_STATUSES:
            raise CannotReopen("not_ended")
        if req.status in NOT_USED_STATUSES:
            other = _other_use(s, req)
            if other is not None:
                raise CannotReopen("used", other)
        service = snapshot_model(req.service_snapshot)
        cal = rules.calendar
        before = promise_dates(compute_promises(cal, req.service_snapshot, req.use_id,
                                                req.event_dates()))
        final = service.flow[-1].event
        ended = [e for e in req.events if ends_request(e.event_id, final)]
        now = utcnow()
        for event in ended:
            event.undone_at, event.undone_by, event.undo_reason = now, actor, reason
        cancelled, was_sent = _withdraw_messages(s, req, ended)
        s.flush()
        s.expire(req, ["events"])
        status_before = req.status
        # it has been worked on: in progress again, even if no other step was recorded
        status = _status_now(req, service)
        req.status = STATUS_IN_PROGRESS if status == STATUS_OPEN else status
        states = compute_promises(cal, req.service_snapshot, req.use_id, req.event_dates())
        after = promise_dates(states)
        refresh_due_state(cal, req)
        # the applicant was told it ended: they hear that it goes on, and what is due by when
        product_name, hotline = _product_texts(rules, req)
        queue_message(s, req, reopened_message(
            product_name=product_name, service_name=service.name, reference=req.reference,
            promises=_still_due(service, states, req.event_dates()), hotline=hotline,
            status_link=status_link.issue(s, req.id) if status_link else None))
        audit(s, actor, "request_reopened", req, event_ids=[e.event_id for e in ended],
              reopen_reason=reason, status_before=status_before, status_after=req.status,
              promises_before=before, promises_after=after, messages_cancelled=cancelled,
              message_was_sent=was_sent)
        return Changed(req.reference, tuple(e.event_id for e in ended), status_before,
                       req.status, before, after, cancelled, was_sent)


def undone_events(db: Database, request_id: int) -> list[RequestEvent]:
    """The request's undone events, in the order they were undone."""
    with db.read_session() as s:
        return list(s.scalars(select(RequestEvent).where(
            RequestEvent.request_id == request_id, RequestEvent.undone_at.is_not(None))
            .order_by(RequestEvent.undone_at, RequestEvent.id)))
