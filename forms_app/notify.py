"""Telling the applicant: an outbox filled in the same transaction as the change it reports, and
a pluggable sender that drains it.

- `queue_event_message(session, req, event_id, ...)` adds an `Outbox` row when a recorded event
  matters to the applicant (called by the staff console inside its write transaction, so a
  message exists exactly when the event does);
- `send_pending(db, crypto, sender)` sends unsent rows (`flask --app forms_app send-outbox`);
- senders: `LogSender` (the default) writes each message to the log with the phone number
  masked; `SmtpSender` (`OUTBOX_SENDER=smtp`) mails it through an SMTP server configured by
  environment variables, e.g. an e-mail-to-SMS gateway:

      OUTBOX_SENDER=smtp SMTP_HOST=smtp.example.cn SMTP_PORT=587 SMTP_STARTTLS=1
      SMTP_USER=... SMTP_PASSWORD=... SMTP_FROM=noreply@example.cn
      SMTP_TO_TEMPLATE='{phone}@sms-gateway.example.cn'

Message bodies hold no personal data (no name, no ID or phone number): the reference number,
the service, the step, the new promised date and the hotline.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from .crypto import Crypto
from .db import Database
from .identity import format_reference
from .models import Outbox, ServiceRequest, utcnow
from .promises import PromiseState

log = logging.getLogger(__name__)

# events the applicant is told about (an admission the insured made themselves is not news
# to them)
NOTIFY_EVENTS = frozenset({
    "identity_confirmed", "records_complete", "admission_slip_issued", "appointment_booked",
    "sample_received", "report_issued", "billing_accepted", "billing_declined", "completed",
    "missed", "lapsed",
})
MAX_ATTEMPTS = 5


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def event_message(*, product_name: str, service_name: str, reference: str, event_name: str,
                  event_id: str, details: Mapping[str, Any], promises: list[PromiseState],
                  hotline: str, hospital_name: str | None = None) -> str:
    """The text sent to the applicant for one recorded event (plain, calm Chinese)."""
    parts = [f"【{product_name}】您的{service_name}申请（编号 {format_reference(reference)}）"
             f"有新进展：{event_name}。"]
    if event_id == "appointment_booked":
        when = details.get("appointment_date", "")
        try:
            when = _chinese_date(dt.date.fromisoformat(when))
        except (TypeError, ValueError):
            pass
        parts.append(f"预约医院：{hospital_name or details.get('hospital_id', '')}，"
                     f"时间：{when} {details.get('appointment_time', '')}。请按时就医。")
    if event_id == "missed":
        parts.append("按服务规则，本次服务视为已完成。")
    if event_id in ("billing_declined", "lapsed") and details.get("reason"):
        parts.append(f"原因：{details['reason']}。")
    for p in promises:
        if p.deadline is not None and event_id not in ("completed", "missed", "lapsed",
                                                          "billing_declined", "report_issued"):
            mark = "（暂定）" if p.deadline.provisional else ""
            parts.append(f"我们将最晚于{_chinese_date(p.deadline.date)}{mark}{p.promise}。")
    parts.append(f"如有疑问请致电服务热线 {hotline}。")
    return "".join(parts)


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


# -- senders ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingMessage:
    outbox_id: int
    channel: str
    recipient: str          # in clear: only for the sender's own use, never logged
    recipient_masked: str
    subject: str
    body: str


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class LogSender:
    """Writes each message to the log, the recipient masked (the default)."""

    def send(self, message: OutgoingMessage) -> None:
        log.info("outbox %s to %s via %s: %s", message.outbox_id, message.recipient_masked,
                 message.channel, message.body)


class SmtpSender:
    """Sends each message as an e-mail through SMTP, configured by environment variables."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self.host = env["SMTP_HOST"]
        self.port = int(env.get("SMTP_PORT", "587"))
        self.user = env.get("SMTP_USER")
        self.password = env.get("SMTP_PASSWORD")
        self.starttls = env.get("SMTP_STARTTLS", "1") == "1"
        self.sender = env.get("SMTP_FROM", "noreply@localhost")
        self.to_template = env.get("SMTP_TO_TEMPLATE", "{phone}@localhost")

    def send(self, message: OutgoingMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.to_template.format(phone=message.recipient)
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)


def sender_from_env(env: Mapping[str, str] | None = None) -> Sender:
    env = os.environ if env is None else env
    if env.get("OUTBOX_SENDER", "log") == "smtp":
        return SmtpSender(env)
    return LogSender()


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
