"""Start the real app under gunicorn on a free loopback port, and talk to it over HTTP.

Shared by the hardening tests and the benchmarks:

    with GunicornServer(tmp_path, database_url=None, workers=2) as server:
        client = Client(server.base_url)
        status, headers, body = client.get("/apply/second_opinion")

Everything the app needs comes from the environment (DATABASE_URL, UPLOAD_DIR, SECRET_KEY,
DATA_KEY, HASH_KEY, SITE_DIR, rate limits); the secrets are made once per `GunicornServer` so a
restart after a kill reads the same data. The server runs in its own process group so `kill()`
(SIGKILL to that group: the master and its workers, nothing else) is a real crash.
Only 127.0.0.1 is used.
"""

from __future__ import annotations

import datetime as dt
import html
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from forms_app.storage.crypto import new_key  # noqa: E402
from service_rules.identity import ID_CHECK, ID_WEIGHTS  # noqa: E402
from tests.support.sample_files import minimal_pdf  # noqa: E402

HOST = "127.0.0.1"
GUNICORN = Path(sys.executable).with_name("gunicorn")
# large enough that a benchmark or fault test never meets the per-address limits
UNLIMITED = "1000000 per minute"


def listening_socket() -> socket.socket:
    """A loopback socket on a port the kernel picks, already listening: handed to gunicorn as
    a file descriptor, so no other process can take the port between choosing and binding."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class GunicornServer:
    """One gunicorn master with `workers` sync workers running `forms_app:create_app()`."""

    workdir: Path
    database_url: str | None = None          # None: SQLite in workdir
    workers: int = 2
    threads: int = 1
    bench: bool = False                      # BENCHMARK_ENDPOINTS=1
    rate_limits: bool = False                # keep the app's own limits (else UNLIMITED)
    env: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None          # a gunicorn config (hooks, logging)
    log_level: str = "info"
    port: int = 0
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    data_key: str = field(default_factory=new_key)
    hash_key: str = field(default_factory=lambda: secrets.token_hex(32))
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.upload_dir = self.workdir / "uploads"
        self.access_log = self.workdir / "gunicorn-access.log"
        self.error_log = self.workdir / "gunicorn-error.log"
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.workdir / 'forms.db'}"

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": str(self.database_url),
            "UPLOAD_DIR": str(self.upload_dir),
            "SECRET_KEY": self.secret_key,
            "DATA_KEY": self.data_key,
            "HASH_KEY": self.hash_key,
            "SITE_DIR": env.get("SITE_DIR", str(ROOT / "site")),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        })
        if not self.rate_limits:
            env.update({"SUBMIT_RATE_LIMIT": UNLIMITED, "STATUS_RATE_LIMIT": UNLIMITED,
                        "STAFF_LOGIN_RATE_LIMIT": UNLIMITED})
        if self.bench:
            env["BENCHMARK_ENDPOINTS"] = "1"
        env.update(self.env)
        return env

    def start(self, timeout: float = 60.0) -> GunicornServer:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("already running")
        sock = listening_socket()
        self.port = int(sock.getsockname()[1])
        cmd = self.command(sock.fileno())
        try:
            with open(self.error_log, "ab") as log:
                self.proc = subprocess.Popen(cmd, env=self.environment(), cwd=str(ROOT),
                                             stdout=log, stderr=log, start_new_session=True,
                                             pass_fds=(sock.fileno(),))
        finally:
            sock.close()  # gunicorn holds its own copy: a crash really closes the port
        self.wait_ready(timeout)
        return self

    def command(self, fd: int) -> list[str]:
        cmd = [str(GUNICORN), "--bind", f"fd://{fd}", "--workers", str(self.workers),
               "--threads", str(self.threads), "--access-logfile", str(self.access_log),
               "--error-logfile", str(self.error_log), "--capture-output",
               "--log-level", self.log_level, "--graceful-timeout", "5", "--timeout", "60",
               "--no-control-socket", "--chdir", str(ROOT)]
        if self.config_file is not None:
            cmd += ["--config", str(self.config_file)]
        cmd.append("forms_app:create_app()")
        return cmd

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited during start:\n" + self.log_tail())
            try:
                status, _h, _b = Client(self.base_url, timeout=5).get("/status/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("gunicorn did not answer in time:\n" + self.log_tail())

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no error log)"

    def kill(self) -> None:
        """SIGKILL the master and its workers (the process group this object started)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._wait_group_gone()

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            self._wait_group_gone()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self._wait_group_gone()

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                return
            time.sleep(0.05)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class ProductionServer(GunicornServer):
    """The server `make serve` runs (`python -m forms_app`: waitress), on a socket opened
    here; the same environment, lifecycle and log as `GunicornServer`."""

    idle_timeout: int = 20                   # --idle-timeout: seconds before an idle one is closed

    def command(self, fd: int) -> list[str]:
        return [sys.executable, "-m", "forms_app", "--fd", str(fd),
                "--idle-timeout", str(self.idle_timeout)]


# -- HTTP client ------------------------------------------------------------------------------
Headers = dict[str, str]
FileItem = tuple[str, str, bytes, str]  # field name, filename, data, content type


def encode_multipart(fields: list[tuple[str, str | bytes]], files: list[FileItem], *,
                     raw_filenames: bool = False) -> tuple[bytes, str]:
    """A multipart/form-data body (values may be raw bytes, e.g. invalid UTF-8). With
    `raw_filenames` a filename goes into its part's header as it is (line breaks, quotes,
    control characters), as a broken or hostile client sends it."""
    boundary = "----hardening" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields:
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + data + b"\r\n")
    for name, filename, data, ctype in files:
        safe = filename if raw_filenames else \
            filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{safe}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """A tiny HTTP/1.1 client with a cookie jar (one connection per request, like a sync
    gunicorn worker expects)."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        m = re.match(r"http://([^:/]+):(\d+)", base_url)
        assert m, base_url
        self.host, self.port = m.group(1), int(m.group(2))
        assert self.host in ("127.0.0.1", "localhost"), "loopback only"
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Headers | None = None) -> tuple[int, Headers, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            hdrs = dict(headers or {})
            if self.cookies:
                hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            for key, value in resp.getheaders():
                if key.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, Headers, bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, Headers, bytes]:
        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(self, path: str, fields: list[tuple[str, str | bytes]],
                       files: list[FileItem] | None = None) -> tuple[int, Headers, bytes]:
        body, ctype = encode_multipart(fields, files or [])
        return self.request("POST", path, body, {"Content-Type": ctype})


def hidden_value(page: bytes, name: str) -> str:
    """The value of the page's hidden field `name` (either attribute order)."""
    key = re.escape(name.encode())
    m = re.search(rb'name="' + key + rb'"[^>]*value="([^"]+)"', page) or \
        re.search(rb'value="([^"]+)"[^>]*name="' + key + rb'"', page)
    if not m:
        raise AssertionError(f"no {name} in the page")
    return html.unescape(m.group(1).decode())


def csrf_token(page: bytes) -> str:
    return hidden_value(page, "csrf_token")


# -- valid submissions --------------------------------------------------------------------------
def valid_id_number() -> str:
    """A resident ID number with a correct check character (born 1970-1999)."""
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=secrets.randbelow(30 * 365))
    first17 = f"110105{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK[total % 11]


def valid_phone() -> str:
    return f"13{secrets.randbelow(10)}{secrets.randbelow(10**8):08d}"


def shanghai_today() -> dt.date:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date()


# a real one-page PDF of about 1 KB (uploads are opened with pypdf before acceptance)
PDF_BYTES = minimal_pdf(b"% hardening test document\n" * 40)


@dataclass
class Submission:
    """A valid second-opinion request: fields and files, with the personal values kept."""

    name: str
    id_number: str
    phone: str
    policy_number: str
    token: str
    fields: list[tuple[str, str | bytes]]
    files: list[FileItem]


def submission_token(page: bytes) -> str:
    return hidden_value(page, "submission_token")


def second_opinion_submission(csrf: str, pdf: bytes = PDF_BYTES, name: str | None = None,
                              token: str | None = None) -> Submission:
    """Fresh identity, policy and (unless the form's own `token` is given) submission token
    each call (never "already used")."""
    today = shanghai_today()
    ident = valid_id_number()
    phone = valid_phone()
    policy = "HB" + secrets.token_hex(6).upper()
    token = token or secrets.token_urlsafe(24)
    name = name or "测试" + "".join(secrets.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(2))
    fields: list[tuple[str, str | bytes]] = [
        ("csrf_token", csrf),
        ("submission_token", token),
        ("insured_name", name),
        ("id_number", ident),
        ("phone", phone),
        ("applicant_relation", "本人"),
        ("applicant_name", ""),
        ("applicant_phone", ""),
        ("policy_number", policy),
        ("policy_effective", (today - dt.timedelta(days=400)).isoformat()),
        ("diagnosis_date", (today - dt.timedelta(days=20)).isoformat()),
        ("first_diagnosis", "yes"),
        ("consent", "y"),
    ]
    files: list[FileItem] = [("doc_pathology_report", "病理报告.pdf", pdf, "application/pdf")]
    return Submission(name, ident, phone, policy, token, fields, files)


SUBMIT_PATH = "/apply/second_opinion"
REFERENCE_RE = re.compile(r"/apply/confirmation/([0-9A-Z]{8})$")


def reference_from(status: int, headers: Headers) -> str | None:
    """The reference number in a confirmation redirect (the acknowledgement), else None."""
    if status not in (302, 303):
        return None
    m = REFERENCE_RE.search(headers.get("location", ""))
    return m.group(1) if m else None
