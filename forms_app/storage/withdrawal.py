"""The applicant withdraws a request or the consent (service_rules.retention says what may be
withdrawn and what follows). One write transaction: the `withdrawn` event (it closes an open
request, so staff can record nothing more: `casework.record_event` refuses closed requests),
the status, the time, the audit entry, and the messages still queued for the request removed
from the outbox (so none of them is sent).

`messages_stopped` is the check a sender makes before sending a queued row (see
`outbox.send_pending`): a row queued in the instant before a withdrawal committed is still not
sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, lazyload

from service_rules.retention import (
    WITHDRAW_CONSENT,
    WITHDRAWN_EVENT,
    may_withdraw_consent,
    may_withdraw_request,
    status_after_withdrawal,
)
from service_rules.workflow import BY_APPLICANT, OPEN_STATUSES, STATUS_WITHDRAWN

from .audit import audit
from .database import Database
from .locking import lock_request
from .models import Outbox, RequestEvent, ServiceRequest, utcnow
from .queue_order import refresh_due_state
from .status_links import revoke_links


class NotWithdrawable(Exception):
    """The request has ended (for a request) or the consent was already withdrawn."""


@dataclass(frozen=True)
class PrivacyState:
    """What the status page and the staff console show about withdrawal and deletion."""

    reference: str
    status: str
    withdrawn_at: dt.datetime | None
    consent_withdrawn_at: dt.datetime | None
    personal_data_deleted_at: dt.datetime | None
    deletion_reason: str | None
    consent_version: str | None
    notice_version: str | None

    @property
    def deleted(self) -> bool:
        return self.personal_data_deleted_at is not None

    @property
    def may_withdraw_request(self) -> bool:
        return may_withdraw_request(self.status, self.deleted)

    @property
    def may_withdraw_consent(self) -> bool:
        return may_withdraw_consent(self.status, self.consent_withdrawn_at is not None,
                                    self.deleted)

    @property
    def withdrawn_on(self) -> dt.datetime | None:
        """The first withdrawal (of the request or of the consent): the grace period's start."""
        found = [t for t in (self.withdrawn_at, self.consent_withdrawn_at) if t is not None]
        return min(found) if found else None


_STATE_COLUMNS = (ServiceRequest.reference, ServiceRequest.status, ServiceRequest.withdrawn_at,
                  ServiceRequest.consent_withdrawn_at, ServiceRequest.personal_data_deleted_at,
                  ServiceRequest.deletion_reason, ServiceRequest.consent_version,
                  ServiceRequest.notice_version)


def privacy_state(db: Database, reference: str) -> PrivacyState | None:
    with db.read_session() as s:
        row = s.execute(select(*_STATE_COLUMNS)
                        .where(ServiceRequest.reference == reference)).first()
    return PrivacyState(*row) if row is not None else None


@dataclass(frozen=True)
class Withdrawn:
    reference: str
    kind: str
    status_before: str
    status_after: str
    messages_cancelled: int


def withdraw(db: Database, reference: str, kind: str, today: dt.date,
             actor: str = BY_APPLICANT) -> Withdrawn:
    """Withdraw the request (`request`) or the consent (`consent`); raises NotWithdrawable
    when the rules do not allow it (an ended request, a consent already withdrawn)."""
    with db.write_session() as s:
        # the same row lock record_event takes: a staff event and a withdrawal of the same
        # request are one after the other, never interleaved
        req = lock_request(db, s, reference, lazyload(ServiceRequest.snapshot))
        deleted = req.personal_data_deleted_at is not None
        allowed = (may_withdraw_consent(req.status, req.consent_withdrawn_at is not None,
                                        deleted) if kind == WITHDRAW_CONSENT
                   else may_withdraw_request(req.status, deleted))
        if not allowed:
            raise NotWithdrawable(reference)
        now = utcnow()
        before = req.status
        req.status = status_after_withdrawal(req.status, kind)
        if before in OPEN_STATUSES:
            req.withdrawn_at = now
            s.add(RequestEvent(request_id=req.id, event_id=WITHDRAWN_EVENT, event_date=today,
                               recorded_by=actor, recorded_at=now, details={"kind": kind}))
        if kind == WITHDRAW_CONSENT:
            req.consent_withdrawn_at = now
        refresh_due_state(None, req)  # withdrawn: closed, nothing falls due any more
        cancelled = cancel_queued_messages(s, req.id)
        # every status link sent so far stops working (the browser that withdrew keeps its
        # page through the session)
        revoke_links(s, req.id, now)
        audit(s, actor, "consent_withdrawn" if kind == WITHDRAW_CONSENT else "request_withdrawn",
              req, status_before=before, status_after=req.status, messages_cancelled=cancelled)
        return Withdrawn(req.reference, kind, before, req.status, cancelled)


def cancel_queued_messages(session: Session, request_id: int) -> int:
    """Remove the request's messages not yet sent (in the caller's transaction)."""
    result = session.execute(delete(Outbox).where(Outbox.request_id == request_id,
                                                  Outbox.sent_at.is_(None)))
    return int(result.rowcount or 0)


def messages_stopped(session: Session, request_id: int | None) -> bool:
    """True when no message may be sent about this request any more: it was withdrawn, its
    consent was withdrawn, or its personal data was deleted. For a sender to check, in its
    own transaction, just before it sends a queued row."""
    if request_id is None:
        return False
    row = session.execute(
        select(ServiceRequest.status, ServiceRequest.consent_withdrawn_at,
               ServiceRequest.personal_data_deleted_at)
        .where(ServiceRequest.id == request_id)).first()
    if row is None:
        return True  # the request is gone: nothing to tell anyone
    return (row.status == STATUS_WITHDRAWN or row.consent_withdrawn_at is not None
            or row.personal_data_deleted_at is not None)


def recently_withdrawn(db: Database, since: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """(reference, service id, when) of requests withdrawn, or whose consent was withdrawn,
    since `since`, newest first: the staff queue shows them at once, though they have left the
    open queue."""
    with db.read_session() as s:
        rows = s.execute(select(ServiceRequest.reference, ServiceRequest.service_id,
                                ServiceRequest.withdrawn_at,
                                ServiceRequest.consent_withdrawn_at)
                         .where(or_(ServiceRequest.withdrawn_at >= since,
                                    ServiceRequest.consent_withdrawn_at >= since))
                         .limit(200)).all()
    found = [(r.reference, r.service_id,
              max(t for t in (r.withdrawn_at, r.consent_withdrawn_at) if t is not None))
             for r in rows]
    return sorted(found, key=lambda f: f[2], reverse=True)[:50]
