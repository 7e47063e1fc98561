"""Form submissions and status lookups against the real server (gunicorn), next to a bare
endpoint that only reads the same POST body, on the same server in the same run.

    .venv/bin/python benchmarks/http_load.py                  # SQLite and PostgreSQL
    .venv/bin/python benchmarks/http_load.py --db sqlite --levels 1,8,32 --workers 4

For each database and each number of concurrent clients (1, 8, 32) it prints requests per
second, p50 and p99 latency, the server's CPU per request (gunicorn workers plus, on
PostgreSQL, the database's processes: where the time goes when the machine is saturated),
errors, and the figure that matters: the ratio of the app's rate to the bare endpoint's rate
(target: at least 0.5 at 8 clients, with no errors). Every
submission is a valid second-opinion request with a fresh identity and one PDF (default
100 KB); every lookup is a right reference + last-4 pair. Only 127.0.0.1 is used; each run is
bounded by its request count and a time cap.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.gunicorn_harness import (  # noqa: E402
    PDF_BYTES,
    SUBMIT_PATH,
    Client,
    GunicornServer,
    csrf_token,
    encode_multipart,
    reference_from,
    second_opinion_submission,
)
from tests.support.pg_scratch import scratch_database  # noqa: E402

BENCH_PATH = "/_bench/echo"
STATUS_PATH = "/status/"
TIME_CAP_S = 60.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_cpu_seconds(server: GunicornServer) -> float:
    """CPU time of the gunicorn master's workers and of PostgreSQL's processes so far: what the
    server side spends, without the load generator (which shares the machine)."""
    assert server.proc is not None
    master = str(server.proc.pid)
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = stat.rsplit(")", 1)[1].split()[1]
            if ppid == master or (entry / "comm").read_text().startswith("postgres"):
                total += _cpu_seconds(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return total


@dataclass
class Result:
    label: str
    clients: int
    requests: int = 0
    errors: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0  # seconds of worker (and PostgreSQL) CPU during the run
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.wall if self.wall else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request, in milliseconds."""
        return self.server_cpu / self.requests * 1000 if self.requests else float("nan")

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


# one prepared request: method path body headers, and the expected status set
Prepared = tuple[bytes, str]
Check = Callable[[int, dict[str, str]], bool]


def pdf_of(kb: int) -> bytes:
    filler = b"% padding line of a scanned pathology report ..........................\n"
    body = PDF_BYTES[:-6]
    while len(body) < kb * 1024:
        body += filler
    return body + b"%%EOF\n"


def run_level(server: GunicornServer, label: str, sessions: list[Client],
              bodies: list[list[Prepared]], path: str, check: Check,
              on_ok: Callable[[int, dict[str, str], int], None] | None = None) -> Result:
    """Each client thread sends its own bodies one after the other; all start together."""
    clients = len(sessions)
    result = Result(label, clients)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        client = sessions[i]
        barrier.wait()
        for body, ctype in bodies[i]:
            if time.monotonic() > deadline[0]:
                break
            t0 = time.perf_counter()
            try:
                status, headers, _data = client.request("POST", path, body,
                                                        {"Content-Type": ctype})
                ok = check(status, headers)
                err = None if ok else f"HTTP {status}"
            except OSError as exc:
                status, headers, ok, err = 0, {}, False, type(exc).__name__
            dt_s = time.perf_counter() - t0
            with lock:
                result.requests += 1
                result.latencies.append(dt_s)
                if not ok:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(str(err))
            if ok and on_ok is not None:
                on_ok(status, headers, i)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + TIME_CAP_S
    cpu0 = server_cpu_seconds(server)
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - t0
    result.server_cpu = server_cpu_seconds(server) - cpu0
    return result


def new_sessions(server: GunicornServer, n: int) -> tuple[list[Client], list[str]]:
    sessions, tokens = [], []
    for _ in range(n):
        c = Client(server.base_url)
        status, _h, page = c.get(SUBMIT_PATH)
        assert status == 200, status
        sessions.append(c)
        tokens.append(csrf_token(page))
    return sessions, tokens


def bench_database(db_label: str, database_url: str | None, levels: list[int], workers: int,
                   per_client: dict[int, int], pdf: bytes, workdir: Path) -> list[str]:
    lines: list[str] = []
    server = GunicornServer(workdir / db_label, database_url=database_url, workers=workers,
                            bench=True)
    with server:
        # warm up every worker (imports, first connections)
        s, t = new_sessions(server, workers * 2)
        for c, tok in zip(s, t, strict=True):
            sub = second_opinion_submission(tok, pdf)
            c.post_multipart(SUBMIT_PATH, sub.fields, sub.files)
        lookups: list[tuple[str, str]] = []  # (reference, last4) of created requests
        lookup_lock = threading.Lock()
        for clients in levels:
            n = per_client[clients]
            sessions, tokens = new_sessions(server, clients)
            subs = [[second_opinion_submission(tokens[i], pdf) for _ in range(n)]
                    for i in range(clients)]
            bodies = [[encode_multipart(sub.fields, sub.files) for sub in row] for row in subs]
            last4_by_client: list[list[str]] = [[s.id_number[-4:] for s in row] for row in subs]
            counters = [0] * clients

            def on_submit(status: int, headers: dict[str, str], i: int,
                          _l4: list[list[str]] = last4_by_client,
                          _c: list[int] = counters) -> None:
                ref = reference_from(status, headers)
                if ref:
                    with lookup_lock:
                        lookups.append((ref, _l4[i][_c[i]]))
                _c[i] += 1

            def submitted(status: int, headers: dict[str, str]) -> bool:
                return reference_from(status, headers) is not None

            bare = run_level(server, "bare", sessions, bodies, BENCH_PATH,
                             lambda st, _h: st == 200)
            app = run_level(server, "submit", sessions, bodies, SUBMIT_PATH, submitted,
                            on_submit)
            lines.append(row(db_label, "submit", clients, app, bare))

        for clients in levels:
            n = per_client[clients]
            sessions, tokens = new_sessions(server, clients)
            bodies = []
            for i in range(clients):
                mine = []
                for _ in range(n):
                    ref, last4 = lookups[secrets.randbelow(len(lookups))]
                    body = urlencode({"csrf_token": tokens[i], "reference": ref,
                                      "last4": last4}).encode()
                    mine.append((body, "application/x-www-form-urlencoded"))
                bodies.append(mine)
            bare = run_level(server, "bare", sessions, bodies, BENCH_PATH,
                             lambda st, _h: st == 200)
            # a lookup that finds the request redirects to its status page (303)
            app = run_level(server, "status", sessions, bodies, STATUS_PATH,
                            lambda st, h: st == 303 and "/status/" in h.get("location", ""))
            lines.append(row(db_label, "status", clients, app, bare))
    return lines


def row(db_label: str, what: str, clients: int, app: Result, bare: Result) -> str:
    ratio = app.rate / bare.rate if bare.rate else float("nan")
    errors = app.errors + bare.errors
    samples = "; ".join(app.error_samples + bare.error_samples)
    return (f"{db_label:<10} {what:<7} {clients:>3} | {app.rate:8.1f} {app.pct(50):7.1f} "
            f"{app.pct(99):7.1f} {app.cpu_ms:6.2f} | {bare.rate:8.1f} {bare.pct(50):6.1f} "
            f"{bare.pct(99):6.1f} {bare.cpu_ms:6.2f} | {ratio:5.2f} | {app.requests:5d} {errors:3d}"
            + (f"  [{samples}]" if samples else ""))


HEADER = ("database   what    cli |    app/s  p50 ms  p99 ms cpu ms |   bare/s  p50 ms p99 ms "
          "cpu ms | ratio |  reqs err")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--requests", type=int, default=0,
                        help="requests per client (default: 60 / 25 / 10 at 1 / 8 / 32)")
    parser.add_argument("--file-kb", type=int, default=100, help="size of the PDF in each form")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    per_client = {c: args.requests or (60 if c == 1 else 25 if c <= 8 else 10) for c in levels}
    pdf = pdf_of(args.file_kb)
    print(f"gunicorn {args.workers} sync workers on {os.cpu_count()} cores; "
          f"each form carries a {len(pdf) // 1024} KB PDF; ratio = app/s ÷ bare/s; "
          "cpu ms = server CPU per request (workers, and PostgreSQL's processes)")
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="http-load-") as tmp:
        if args.db in ("sqlite", "both"):
            for line in bench_database("sqlite", None, levels, args.workers, per_client, pdf,
                                       Path(tmp)):
                print(line, flush=True)
        if args.db in ("postgres", "both"):
            with scratch_database() as url:
                if url is None:
                    print("postgres   (skipped: no server reachable at DATABASE_TEST_URL)")
                else:
                    for line in bench_database("postgres", url, levels, args.workers,
                                               per_client, pdf, Path(tmp)):
                        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
