"""Senders that deliver queued messages, chosen by OUTBOX_SENDER:

- `log` (the default): `LogSender` writes each message to the console log, the recipient
  masked. Nothing reaches the applicant: `send-outbox` says so.
- `smtp`: `SmtpSender` mails it through an SMTP server, e.g. an e-mail-to-SMS gateway:

      OUTBOX_SENDER=smtp SMTP_HOST=smtp.example.cn SMTP_PORT=587 SMTP_STARTTLS=1
      SMTP_USER=... SMTP_PASSWORD=... SMTP_FROM=noreply@example.cn
      SMTP_TO_TEMPLATE='{phone}@sms-gateway.example.cn'

- `aliyun`: `AliyunSmsSender` (aliyun.py) sends an SMS through Alibaba Cloud SMS (SendSms).

A sender raises on failure; the outbox records the error (recipient masked) and retries.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30
SENDERS = ("log", "smtp", "aliyun")


@dataclass(frozen=True)
class OutgoingMessage:
    outbox_id: int
    channel: str
    recipient: str          # in clear: only for the sender's own use, never logged
    recipient_masked: str
    subject: str
    body: str
    attempt: int = 1        # this try's number (1 = first)


class Sender(Protocol):
    """`send` delivers one message or raises. `delivers` is False for a sender that only
    writes messages somewhere a developer sees them (the log)."""

    delivers: bool

    def send(self, message: OutgoingMessage) -> None: ...


class LogSender:
    """Writes each message to the log, the recipient masked (the default). Delivers nothing."""

    delivers = False
    name = "log"

    def send(self, message: OutgoingMessage) -> None:
        log.info("outbox %s to %s via %s (written to the log, not delivered): %s",
                 message.outbox_id, message.recipient_masked, message.channel, message.body)


class SmtpSender:
    """Sends each message as a UTF-8 e-mail through SMTP, configured by the SMTP_* settings,
    on a connection of its own (a connection the server dropped never fails the next one)."""

    delivers = True
    name = "smtp"

    def __init__(self, config: Mapping[str, Any]):
        self.host = config["SMTP_HOST"]
        if not self.host:
            raise ValueError("OUTBOX_SENDER=smtp needs SMTP_HOST")
        self.port = int(config.get("SMTP_PORT", 587))
        self.user = config.get("SMTP_USER")
        self.password = config.get("SMTP_PASSWORD")
        self.starttls = bool(config.get("SMTP_STARTTLS", True))
        self.sender = config.get("SMTP_FROM") or "noreply@localhost"
        self.to_template = config.get("SMTP_TO_TEMPLATE") or "{phone}@localhost"
        # the name we greet the server with, looked up once: smtplib would ask the resolver
        # again for every message (9 ms a lookup here)
        self.local_hostname = socket.getfqdn()

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.to_template.format(phone=message.recipient)
        mail["Subject"] = message.subject
        # the outbox id in the Message-ID: a gateway that sees the same message twice (a
        # worker killed between sending and recording it) can tell
        domain = self.sender.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = make_msgid(idstring=f"outbox-{message.outbox_id}", domain=domain)
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: OutgoingMessage) -> None:
        mail = self.build(message)
        with smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                          timeout=SMTP_TIMEOUT) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)


def sender_from_config(config: Mapping[str, Any]) -> Sender:
    """The sender OUTBOX_SENDER names (log, smtp or aliyun); ValueError for anything else."""
    name = (config.get("OUTBOX_SENDER") or "log").strip().lower()
    if name == "smtp":
        return SmtpSender(config)
    if name == "aliyun":
        from .aliyun import AliyunSmsSender

        return AliyunSmsSender(config)
    if name == "log":
        return LogSender()
    raise ValueError(f"OUTBOX_SENDER={name!r} is not a sender: use one of {', '.join(SENDERS)}")
