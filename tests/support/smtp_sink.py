"""A real SMTP server for the tests (aiosmtpd), on a loopback socket the test opened, that
keeps every message it accepts:

    with SmtpSink() as sink:
        ... SMTP_HOST=127.0.0.1 SMTP_PORT=sink.port SMTP_STARTTLS=0 ...
        [mail] = sink.messages          # Received: envelope + parsed e-mail

It runs its own asyncio loop in a thread. `refuse` makes it answer every DATA with that SMTP
reply (e.g. "550 mailbox unavailable") and keep nothing; `delay` slows each message down.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

from tests.support.gunicorn_harness import listening_socket


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return part.get_content()


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        if self.sink.refuse:
            return self.sink.refuse
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                                               parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, *, delay: float = 0.0, refuse: str | None = None):
        self.delay = delay
        self.refuse = refuse
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self._sock = listening_socket()
        # aiosmtpd writes a multi-line reply (EHLO) line by line: without NODELAY each
        # message waits 40 ms for the client's delayed ACK (accepted sockets inherit it)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port: int = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> SmtpSink:
        handler = _Handler(self)

        async def start() -> asyncio.AbstractServer:
            return await self._loop.create_server(
                lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True),
                sock=self._sock)

        # the loop runs only in its thread: a test's main thread may be inside another loop
        # (Playwright's sync API keeps one there for the whole test process)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def smtp_config(self, **extra: Any) -> dict[str, Any]:
        """App settings that send through this sink."""
        return {"OUTBOX_SENDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port,
                "SMTP_STARTTLS": False, "SMTP_FROM": "noreply@cancer-care.example.cn",
                "SMTP_TO_TEMPLATE": "{phone}@sms-gateway.example.cn", **extra}
