"""Senders that deliver queued messages: `LogSender` (the default) writes each message to the log
with the phone number masked; `SmtpSender` (`OUTBOX_SENDER=smtp`) mails it through an SMTP
server, e.g. an e-mail-to-SMS gateway:

    OUTBOX_SENDER=smtp SMTP_HOST=smtp.example.cn SMTP_PORT=587 SMTP_STARTTLS=1
    SMTP_USER=... SMTP_PASSWORD=... SMTP_FROM=noreply@example.cn
    SMTP_TO_TEMPLATE='{phone}@sms-gateway.example.cn'
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

log = logging.getLogger(__name__)


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
    """Sends each message as an e-mail through SMTP, configured by the SMTP_* settings."""

    def __init__(self, config: Mapping[str, Any]):
        self.host = config["SMTP_HOST"]
        self.port = int(config.get("SMTP_PORT", 587))
        self.user = config.get("SMTP_USER")
        self.password = config.get("SMTP_PASSWORD")
        self.starttls = bool(config.get("SMTP_STARTTLS", True))
        self.sender = config.get("SMTP_FROM", "noreply@localhost")
        self.to_template = config.get("SMTP_TO_TEMPLATE", "{phone}@localhost")

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


def sender_from_config(config: Mapping[str, Any]) -> Sender:
    """The sender OUTBOX_SENDER names (log or smtp)."""
    if config.get("OUTBOX_SENDER", "log") == "smtp":
        return SmtpSender(config)
    return LogSender()
