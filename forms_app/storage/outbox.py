"""The outbox: messages to the applicant, queued in the same transaction as the change they
report (so a message exists exactly when its request or event does), then sent by
`send_pending` (`flask --app forms_app send-outbox [--loop]`).

The recipient stays encrypted in the outbox, next to its masked form; only the masked form is
ever logged, and a sender's error is stored with the recipient masked.

Sending, on several workers or hosts at once, each message once: a worker claims a few due
rows in a short write transaction (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so two
workers never pick the same row and never wait for each other; SQLite: `BEGIN IMMEDIATE` lets
one writer in at a time) by moving their `next_attempt_at` forward by CLAIM_LEASE, commits,
and only then sends, outside any transaction: a slow SMTP server or SMS API never holds a
database lock (on SQLite that would stall every submission). A sent row gets `sent_at`; a
failed one its error, one more attempt and the back-off. A worker killed while sending leaves
its rows claimed until the lease ends; they are then sent again (at least once after a crash,
exactly once otherwise).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from service_rules.identity import format_reference
from service_rules.workflow import ALTERNATIVE_FULFILMENT

from ..messages.senders import OutgoingMessage, Sender
from ..messages.texts import NOTIFY_EVENTS, submission_message
from .crypto import Crypto
from .database import Database
from .models import Outbox, ServiceRequest, utcnow
from .withdrawal import messages_stopped

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# after the n-th failed try wait RETRY_BASE * 2**(n-1), at most RETRY_CAP: 1, 2, 4 ... 60
# minutes, about two hours in all before a message is left for staff (`failing_messages`)
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=1)
# a claimed row is not due again before this: far longer than a send can take (SMTP and
# the SMS API time out after 30 s)
CLAIM_LEASE = dt.timedelta(minutes=5)
CLAIM_BATCH = 10
ERROR_MAX = 500

_OUTBOX = Outbox.__table__
_INSERT_OUTBOX = insert(_OUTBOX)


def _subject(reference: str) -> str:
    return f"申请 {format_reference(reference)}"


def queue_event_message(session: Session, req: ServiceRequest, event_id: str, body: str) -> bool:
    """Queue `body` to the applicant of `req` if `event_id` matters to them; True if queued."""
    if event_id not in NOTIFY_EVENTS:
        return False
    queue_message(session, req, body)
    return True


def queue_message(session: Session, req: ServiceRequest, body: str) -> None:
    """Queue `body` to the applicant of `req`, in the caller's transaction.

    The recipient is the applicant's phone when a family member applied, else the insured's;
    it stays encrypted in the outbox, next to its masked form.
    """
    if req.applicant_phone_enc:
        enc, masked = req.applicant_phone_enc, req.applicant_phone_masked
    else:
        enc, masked = req.phone_enc, req.phone_masked
    session.add(Outbox(request_id=req.id, channel="sms", recipient_enc=enc,
                       recipient_masked=masked, subject=_subject(req.reference), body=body))


def kept_promise_ids(snapshot: Mapping[str, Any], recorded: set[str]) -> set[str]:
    """Promises of a stored snapshot already kept by one of the `recorded` events (the event
    of the flow step that carries the promise, or its alternative: a declined reply). Read
    from the snapshot's JSON as stored, without validating it into models again."""
    kept: set[str] = set()
    for step in snapshot.get("service", {}).get("flow", []):
        event = step.get("event")
        if not event:
            continue
        if {event, *ALTERNATIVE_FULFILMENT.get(event, ())} & recorded:
            kept.update(step.get("promises", []))
    return kept


def queue_submission_message(conn: Any, *, request_id: int, reference: str,
                             request_row: Mapping[str, Any], snapshot: Mapping[str, Any],
                             promises: list[Mapping[str, Any]], recorded: set[str],
                             now: dt.datetime, status_link: str | None) -> None:
    """Queue the "we have received your request" message, in the caller's write transaction
    (Core, like the rest of the submission): reference, the promises still due with their
    dates, the hotline and the status link, to the applicant (the family member who applied,
    else the insured)."""
    product = snapshot.get("product", {})
    kept = kept_promise_ids(snapshot, recorded)
    body = submission_message(
        product_name=product.get("name", ""),
        service_name=snapshot.get("service", {}).get("name", ""), reference=reference,
        promises=[p for p in promises if p.get("promise_id") not in kept],
        hotline=product.get("hotline", {}).get("display", ""), status_link=status_link)
    if request_row.get("applicant_phone_enc"):
        enc, masked = request_row["applicant_phone_enc"], request_row["applicant_phone_masked"]
    else:
        enc, masked = request_row["phone_enc"], request_row["phone_masked"]
    conn.execute(_INSERT_OUTBOX, {
        "request_id": request_id, "channel": "sms", "recipient_enc": enc,
        "recipient_masked": masked, "subject": _subject(reference), "body": body,
        "created_at": now, "attempts": 0})


@dataclass
class SendReport:
    delivered: int = 0   # handed to a sender that delivers (SMTP server, SMS API)
    logged: int = 0      # written to the log only (OUTBOX_SENDER=log): not delivered
    failed: int = 0      # tries that failed this run (retried later, up to MAX_ATTEMPTS)
    dropped: int = 0     # request withdrawn or deleted since queued: never sent

    @property
    def sent(self) -> int:
        """Messages the sender accepted (delivered or logged)."""
        return self.delivered + self.logged


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def _due(now: dt.datetime) -> Any:
    return (Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS,
            or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now))


def _claim(db: Database, crypto: Crypto, now: dt.datetime, batch: int,
           report: SendReport) -> list[OutgoingMessage]:
    """Claim up to `batch` due rows (see the module docstring) and return them decrypted."""
    query = select(Outbox).where(*_due(now)).order_by(Outbox.id).limit(batch)
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    claimed: list[OutgoingMessage] = []
    with db.write_session() as s:
        for row in list(s.scalars(query)):
            if messages_stopped(s, row.request_id):
                s.delete(row)  # withdrawn or deleted since it was queued: never sent
                report.dropped += 1
                continue
            row.attempts += 1
            row.next_attempt_at = now + CLAIM_LEASE
            recipient = crypto.decrypt_text(row.recipient_enc) if row.recipient_enc else ""
            claimed.append(OutgoingMessage(row.id, row.channel, recipient,
                                           row.recipient_masked or "", row.subject, row.body,
                                           attempt=row.attempts))
    return claimed


def _error_text(exc: BaseException, message: OutgoingMessage) -> str:
    """The error as stored and logged: the recipient in clear replaced by its masked form
    (an SMTP refusal quotes the address, an API may quote the number)."""
    text = f"{type(exc).__name__}: {exc}"
    if message.recipient:
        text = text.replace(message.recipient, message.recipient_masked or "***")
    return text[:ERROR_MAX]


def send_pending(db: Database, crypto: Crypto, sender: Sender, limit: int = 500,
                 now: dt.datetime | None = None) -> SendReport:
    """Send up to `limit` due messages (oldest first), claiming them as the module docstring
    says; `now` for tests (default: the clock)."""
    report = SendReport()
    delivers = bool(getattr(sender, "delivers", True))
    done = 0
    while done < limit:
        moment = now or utcnow()
        claimed = _claim(db, crypto, moment, min(CLAIM_BATCH, limit - done), report)
        if not claimed:
            break
        for message in claimed:
            done += 1
            try:
                sender.send(message)
            except Exception as exc:  # noqa: BLE001 - recorded and retried later
                error = _error_text(exc, message)
                report.failed += 1
                log.warning("outbox %s to %s failed (try %s of %s): %s", message.outbox_id,
                            message.recipient_masked, message.attempt, MAX_ATTEMPTS,
                            type(exc).__name__)
                _finish(db, message.outbox_id, last_error=error,
                        next_attempt_at=(now or utcnow()) + retry_delay(message.attempt))
                continue
            _finish(db, message.outbox_id, sent_at=now or utcnow(), last_error=None,
                    next_attempt_at=None)
            if delivers:
                report.delivered += 1
            else:
                report.logged += 1
    return report


def _finish(db: Database, outbox_id: int, **values: Any) -> None:
    # a row deleted meanwhile (the request withdrawn while it was being sent) updates nothing
    with db.write_connection() as conn:
        conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == outbox_id).values(**values))


@dataclass(frozen=True)
class FailingMessage:
    outbox_id: int
    reference: str | None
    recipient_masked: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    # when it is tried next (None: due now); past MAX_ATTEMPTS it is not tried again
    next_attempt_at: dt.datetime | None = None

    @property
    def given_up(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS


def failing_messages(db: Database, *, request_id: int | None = None) -> list[FailingMessage]:
    """Unsent messages whose last try failed (those past MAX_ATTEMPTS are no longer tried:
    staff must reach the applicant another way), oldest first."""
    query = (select(Outbox.id, ServiceRequest.reference, Outbox.recipient_masked,
                    Outbox.attempts, Outbox.last_error, Outbox.created_at,
                    Outbox.next_attempt_at)
             .outerjoin(ServiceRequest, ServiceRequest.id == Outbox.request_id)
             .where(Outbox.sent_at.is_(None), Outbox.last_error.is_not(None))
             .order_by(Outbox.id))
    if request_id is not None:
        query = query.where(Outbox.request_id == request_id)
    with db.read_session() as s:
        return [FailingMessage(r.id, r.reference, r.recipient_masked or "", r.attempts,
                               r.last_error or "", r.created_at, r.next_attempt_at)
                for r in s.execute(query)]


@dataclass(frozen=True)
class OutboxCounts:
    waiting: int     # unsent, still to be tried
    given_up: int    # unsent after MAX_ATTEMPTS tries


def failing_count(db: Database) -> int:
    """How many unsent messages' last try failed (the console's navigation shows it)."""
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.sent_at.is_(None), Outbox.last_error.is_not(None))) or 0


def outbox_counts(db: Database) -> OutboxCounts:
    with db.read_session() as s:
        waiting = s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS)) or 0
        given_up = s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.sent_at.is_(None), Outbox.attempts >= MAX_ATTEMPTS)) or 0
    return OutboxCounts(waiting, given_up)
