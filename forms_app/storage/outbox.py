"""The outbox: messages to the applicant, queued in the same transaction as the change they
report (so a message exists exactly when its event does), then sent by `send_pending`.

The recipient stays encrypted in the outbox, next to its masked form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service_rules.identity import format_reference

from ..messages.senders import OutgoingMessage, Sender
from ..messages.texts import NOTIFY_EVENTS
from .crypto import Crypto
from .database import Database
from .models import Outbox, ServiceRequest, utcnow
from .withdrawal import messages_stopped

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def queue_event_message(session: Session, req: ServiceRequest, event_id: str, body: str) -> bool:
    """Queue `body` to the applicant of `req` if `event_id` matters to them; True if queued.

    The recipient is the applicant's phone when a family member applied, else the insured's;
    it stays encrypted in the outbox, next to its masked form.
    """
    if event_id not in NOTIFY_EVENTS:
        return False
    if req.applicant_phone_enc:
        enc, masked = req.applicant_phone_enc, req.applicant_phone_masked
    else:
        enc, masked = req.phone_enc, req.phone_masked
    session.add(Outbox(request_id=req.id, channel="sms", recipient_enc=enc,
                       recipient_masked=masked, subject=f"申请 {format_reference(req.reference)}",
                       body=body))
    return True


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0


def send_pending(db: Database, crypto: Crypto, sender: Sender, limit: int = 500) -> SendReport:
    """Send unsent messages (oldest first, fewer than MAX_ATTEMPTS tries), marking each one."""
    report = SendReport()
    with db.read_session() as session:
        ids = list(session.scalars(
            select(Outbox.id).where(Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS)
            .order_by(Outbox.id).limit(limit)))
    for outbox_id in ids:
        with db.write_session() as session:
            row = session.get(Outbox, outbox_id)
            if row is None or row.sent_at is not None:
                continue  # another sender got it
            if messages_stopped(session, row.request_id):
                session.delete(row)  # withdrawn or deleted since it was queued: never sent
                continue
            recipient = crypto.decrypt_text(row.recipient_enc) if row.recipient_enc else ""
            message = OutgoingMessage(row.id, row.channel, recipient,
                                      row.recipient_masked or "", row.subject, row.body)
            row.attempts += 1
            try:
                sender.send(message)
            except Exception as exc:  # noqa: BLE001 - recorded and retried later
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                report.failed += 1
                log.warning("outbox %s to %s failed: %s", row.id, row.recipient_masked,
                            type(exc).__name__)
                continue
            row.sent_at = utcnow()
            row.last_error = None
            report.sent += 1
    return report
