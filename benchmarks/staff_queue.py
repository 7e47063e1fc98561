"""The staff queue page with 1,000 and with 100,000 requests stored, timed in the same run.

The queue is ordered, counted and paginated in SQL by the stored next due date
(storage/queue_reads.py), so its cost should not grow with the table: the target is the page at
100,000 requests costing at most 2x the page at 1,000.

For each database (SQLite, and PostgreSQL when a server answers at DATABASE_TEST_URL) and each
size, a fresh migrated database is filled by bulk insert (one real request made through the
store layer, then copies of its rows with their own references, statuses, due dates and
assignments: a mix of open and ended requests, some with no clock yet), and a signed-in test
client times GET /staff/ (best of --repeat after one warm-up, both sizes in turns), also
filtered to "mine", a later page and every status. PostgreSQL tables are vacuumed and analysed
after loading, as autovacuum would do soon after.

    .venv/bin/python benchmarks/staff_queue.py [--sizes 1000 100000] [--repeat 15]
        [--open-share 0.5] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from forms_app.storage import get_db  # noqa: E402
from forms_app.storage.models import RequestEvent, ServiceRequest  # noqa: E402
from service_rules.identity import REFERENCE_ALPHABET  # noqa: E402
from tests.support.pg_scratch import scratch_database  # noqa: E402
from tests.support.staff import STAFF, add_staff, make_app, new_request, sign_in  # noqa: E402

TODAY = dt.date(2026, 6, 15)
CLOSED = ("completed", "lapsed", "declined")


def interleaved(fns: dict[int, Callable[[], Any]], repeat: int) -> dict[int, float]:
    """Best time of each, measured in turns (one of each, then again): on a shared machine a
    burst of load then falls on every size alike instead of on whichever ran during it."""
    for fn in fns.values():
        fn()  # warm-up: templates compiled, caches filled
    found = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for key, fn in fns.items():
            t = time.perf_counter()
            fn()
            found[key] = min(found[key], time.perf_counter() - t)
    return found


def fill(app: Any, n: int, open_share: float, seed: int = 7) -> None:
    """n requests: copies of one real request's row, inserted in chunks."""
    rng = random.Random(seed)
    template_ref = new_request(app, "green_channel", use_id="outpatient",
                               request_date=TODAY - dt.timedelta(days=3), files=False)
    table = ServiceRequest.__table__
    with app.app_context():
        db = get_db()
        with db.read_connection() as conn:
            row = dict(conn.execute(select(table).where(table.c.reference == template_ref))
                       .mappings().one())
        base = {k: v for k, v in row.items() if k != "id"}
        refs: set[str] = {template_ref}
        chunk = 5000
        for start in range(1, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                ref = template_ref
                while ref in refs:
                    ref = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(8))
                refs.add(ref)
                is_open = rng.random() < open_share
                status = rng.choice(("open", "in_progress")) if is_open else rng.choice(CLOSED)
                due = (TODAY + dt.timedelta(days=rng.randint(-10, 25))
                       if is_open and rng.random() < 0.8 else None)
                rows.append({**base, "reference": ref, "status": status,
                             "submission_token": secrets.token_hex(16),
                             "created_at": row["created_at"] - dt.timedelta(minutes=i),
                             "next_due": due,
                             "next_due_promise": "outpatient_arranged" if due else None,
                             "assigned_to": STAFF if rng.random() < 0.1 else None})
            with db.write_connection() as conn:
                conn.execute(insert(table), rows)
                ids = conn.execute(select(table.c.id).where(
                    table.c.reference.in_([r["reference"] for r in rows]))).scalars().all()
                conn.execute(insert(RequestEvent.__table__), [
                    {"request_id": rid, "event_id": "request", "recorded_by": "applicant",
                     "event_date": TODAY - dt.timedelta(days=3), "details": {},
                     "recorded_at": row["created_at"]} for rid in ids])
        if not db.is_sqlite:
            # what autovacuum does to a table this size soon after: statistics, and the
            # visibility map that lets counts read the index alone
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))


QUERIES = {"page": "", "mine": "?assigned=mine", "page 10": "?page=10",
           "all statuses": "?status=all"}


def signed_in(database: str, folder: Path, url: str | None, n: int,
              args: argparse.Namespace) -> Any:
    app = make_app(folder, url, TODAY=TODAY)
    add_staff(app)
    t = time.perf_counter()
    fill(app, n, args.open_share)
    print(f"  {database}: {n:,} requests filled in {time.perf_counter() - t:.1f} s", flush=True)
    client = app.test_client()
    sign_in(client)
    return client


def getter(client: Any, query: str) -> Callable[[], None]:
    def get() -> None:
        response = client.get(f"/staff/{query}")
        assert response.status_code == 200, response.status_code
    return get


def measure(database: str, urls: dict[int, str | None], args: argparse.Namespace
            ) -> dict[str, dict[int, float]]:
    """{query: {size: best seconds}} for both sizes of one database."""
    folders = {n: Path(tempfile.mkdtemp(prefix="staff-queue-")) for n in urls}
    try:
        clients = {n: signed_in(database, folders[n], url, n, args) for n, url in urls.items()}
        out = {name: interleaved({n: getter(c, q) for n, c in clients.items()}, args.repeat)
               for name, q in QUERIES.items()}
        for c in clients.values():
            with c.application.app_context():
                get_db().dispose()
        return out
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--open-share", type=float, default=0.5,
                        help="share of requests not ended (the rest completed, lapsed, declined)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    small, large = args.sizes
    print(f"GET /staff/ signed in, best of {args.repeat} taken in turns; {args.open_share:.0%} "
          "of the requests open (80% of those with a clock), 10% assigned to the signed-in user")
    results = {"SQLite": measure("SQLite", {small: None, large: None}, args)}
    if not args.sqlite_only:
        with scratch_database() as first, scratch_database() as second:
            if first is None or second is None:
                print("  PostgreSQL: no server answers, skipped")
            else:
                results["PostgreSQL"] = measure("PostgreSQL", {small: first, large: second},
                                                args)
    print(f"\nms with {small:,} → with {large:,} requests stored, and the ratio (target: at most "
          "2x):")
    for database, out in results.items():
        for q in QUERIES:
            a, b = out[q][small] * 1000, out[q][large] * 1000
            print(f"  {database:10} {q:13} {a:7.1f} → {b:7.1f} ms  {b / a:5.2f}x")


if __name__ == "__main__":
    main()
