"""The production server (`make serve`: waitress in front of the app) under clients on slow or
stalled links: they cost a socket each, not a worker, so ordinary requests keep answering, and a
genuine upload over a slow link goes through however long it takes."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.consistency import count_requests
from tests.support.gunicorn_harness import (
    HOST,
    SUBMIT_PATH,
    Client,
    ProductionServer,
    csrf_token,
    encode_multipart,
    reference_from,
    second_opinion_submission,
)
from tests.support.sample_files import padded_pdf

pytestmark = pytest.mark.slow
SLOW_CLIENTS = 50


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProductionServer]:
    with ProductionServer(tmp_path, env={"SITE_DIR": str(tmp_path / "no-site")}) as srv:
        yield srv


def latencies(base_url: str, n: int) -> list[float]:
    client = Client(base_url, timeout=10)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        status, _h, _b = client.get("/apply/second_opinion")
        out.append(time.perf_counter() - start)
        assert status == 200
    return out


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


class SlowClients:
    """Half trickle a request body one byte at a time, half announce a large body and send
    nothing: the two ways the hostile test held every gunicorn sync worker."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.stop = threading.Event()
        self.socks: list[socket.socket] = []
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> SlowClients:
        for i in range(self.count):
            sock = socket.create_connection((HOST, self.port), timeout=30)
            head = (f"POST {SUBMIT_PATH} HTTP/1.1\r\nHost: {HOST}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {50_000_000 if i % 2 else 50_000}\r\n\r\n")
            sock.sendall(head.encode())
            self.socks.append(sock)
            if i % 2 == 0:
                t = threading.Thread(target=self._trickle, args=(sock,), daemon=True)
                t.start()
                self.threads.append(t)
        return self

    def _trickle(self, sock: socket.socket) -> None:
        while not self.stop.wait(0.5):
            try:
                sock.sendall(b"a")
            except OSError:
                return

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for sock in self.socks:
            sock.close()


def test_slow_clients_do_not_starve_ordinary_requests(server: ProductionServer, capsys) -> None:
    quiet = latencies(server.base_url, 60)
    with SlowClients(server.port, SLOW_CLIENTS):
        time.sleep(1.0)  # every slow client has connected and started
        busy = latencies(server.base_url, 60)
    with capsys.disabled():
        print(f"\nordinary GET, 0 slow clients: p50 {statistics.median(quiet) * 1000:.1f} ms, "
              f"p99 {p99(quiet) * 1000:.1f} ms; {SLOW_CLIENTS} slow clients: "
              f"p50 {statistics.median(busy) * 1000:.1f} ms, p99 {p99(busy) * 1000:.1f} ms")
    assert p99(busy) < 1.0


# A short idle timeout for the two tests of it below: what they prove (a connection that goes
# quiet is closed, one that keeps sending is not, however long the upload) holds at any timeout,
# and at the served 60 s the slow upload would keep a test process waiting for minutes.
IDLE_TIMEOUT = 2


@pytest.fixture
def impatient_server(tmp_path: Path) -> Iterator[ProductionServer]:
    with ProductionServer(tmp_path, env={"SITE_DIR": str(tmp_path / "no-site")},
                          idle_timeout=IDLE_TIMEOUT) as srv:
        yield srv


def upload_head(client: Client, body_length: int, ctype: str) -> bytes:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return (f"POST {SUBMIT_PATH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {body_length}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ).encode()


def slow_link_submission(client: Client, pdf_bytes: int) -> tuple[bytes, bytes]:
    """The request head and body of a second-opinion submission with a PDF of `pdf_bytes`."""
    _s, _h, page = client.get(SUBMIT_PATH)
    pdf = padded_pdf(pdf_bytes)  # a real PDF: uploads are opened before acceptance
    sub = second_opinion_submission(csrf_token(page), pdf=pdf)
    body, ctype = encode_multipart(sub.fields, sub.files)
    return upload_head(client, len(body), ctype), body


def test_a_stalled_upload_is_closed_after_the_idle_timeout(
        impatient_server: ProductionServer) -> None:
    """Half an upload, then silence: the server closes the connection once it has been idle
    for the timeout, not before, and the app never sees the request."""
    client = Client(impatient_server.base_url, timeout=30)
    head, body = slow_link_submission(client, 256 * 1024)
    with socket.create_connection((HOST, impatient_server.port), timeout=30) as sock:
        sock.sendall(head + body[:len(body) // 2])
        quiet_from = time.monotonic()
        closed = sock.recv(65536)  # a timeout here (30 s) would mean the server never closed it
        quiet_for = time.monotonic() - quiet_from
    assert closed == b""
    assert quiet_for >= IDLE_TIMEOUT
    assert count_requests(str(impatient_server.database_url)) == 0


def test_an_upload_over_a_slow_link_succeeds(impatient_server: ProductionServer) -> None:
    """1 MB at about 100 KB/s: some 10 s, five times the idle timeout, never idle for long."""
    client = Client(impatient_server.base_url, timeout=60)
    head, body = slow_link_submission(client, 1024 * 1024)
    with socket.create_connection((HOST, impatient_server.port), timeout=60) as sock:
        sock.sendall(head)
        chunk = 10 * 1024
        started = time.monotonic()
        for offset in range(0, len(body), chunk):
            sock.sendall(body[offset:offset + chunk])
            # pace to 100 KB/s
            ahead = (offset + chunk) / (100 * 1024) - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        reply = b""
        while b"\r\n\r\n" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    elapsed = time.monotonic() - started
    status_line, _, rest = reply.decode("latin-1").partition("\r\n")
    status = int(status_line.split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in rest.split("\r\n\r\n")[0].split("\r\n"))}
    assert elapsed > 4 * IDLE_TIMEOUT
    assert reference_from(status, headers) is not None, reply[:300]


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=20) as sock:
        sock.sendall(request)
        reply = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
            if b"\r\n\r\n" in reply and len(reply) > 200:
                break
    return reply


def test_a_bad_chunk_size_is_a_400_not_a_500(server: ProductionServer) -> None:
    reply = raw_exchange(server.port, (
        f"POST {SUBMIT_PATH} HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
        "zz\r\nabc\r\n0\r\n\r\n").encode())
    assert reply.startswith(b"HTTP/1.1 400"), reply[:80]


def test_line_breaks_in_a_path_forge_no_log_line(server: ProductionServer) -> None:
    reply = raw_exchange(server.port, (
        "GET /apply/x%0d%0aforms_app%20ERROR%20forged HTTP/1.1\r\n"
        f"Host: {HOST}\r\nConnection: close\r\n\r\n").encode())
    assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
    log = server.error_log.read_text(errors="replace")
    assert "\nforms_app ERROR forged" not in log and "ERROR forged" not in log
