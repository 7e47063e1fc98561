"""The staff queue page with 1,000 and with 100,000 requests stored, timed in the same run.

The queue is ordered, counted and paginated in SQL by the stored next due date
(storage/queue_reads.py), so its cost should not grow with the table: the target is the page at
100,000 requests costing at most 2x the page at 1,000.

For each database (SQLite, and PostgreSQL when a server answers at DATABASE_TEST_URL) and each
size, a fresh migrated database is filled by bulk insert (one real request made through the
store layer, then copies of its rows with their own references, statuses, due dates and
assignments: a mix of open and ended requests, some with no clock yet), and a signed-in test
client times GET /staff/ (best of --repeat after one warm-up), also filtered to "mine" and a
later page and every status. PostgreSQL tables are vacuumed and analysed after loading, as
autovacuum would do soon after.

    .venv/bin/python benchmarks/staff_queue.py [--sizes 1000 100000] [--repeat 7]
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


def best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: templates compiled, caches filled
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


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


def measure(database: str, url: str | None, n: int, args: argparse.Namespace) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="staff-queue-"))
    try:
        app = make_app(tmp, url, TODAY=TODAY)
        add_staff(app)
        t = time.perf_counter()
        fill(app, n, args.open_share)
        loaded = time.perf_counter() - t
        client = app.test_client()
        sign_in(client)

        def page(query: str = "") -> Callable[[], None]:
            def get() -> None:
                response = client.get(f"/staff/{query}")
                assert response.status_code == 200, response.status_code
            return get

        out = {"page": best(page(), args.repeat),
               "mine": best(page("?assigned=mine"), args.repeat),
               "page 10": best(page("?page=10"), args.repeat),
               "all statuses": best(page("?status=all"), args.repeat)}
        print(f"  {database:10} {n:>7,} requests (filled in {loaded:5.1f} s): "
              + ", ".join(f"{k} {v * 1000:6.1f} ms" for k, v in out.items()), flush=True)
        with app.app_context():
            get_db().dispose()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--open-share", type=float, default=0.5,
                        help="share of requests not ended (the rest completed, lapsed, declined)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    small, large = args.sizes
    print(f"GET /staff/ signed in, best of {args.repeat}; {args.open_share:.0%} of the requests "
          "open (80% of those with a clock), 10% assigned to the signed-in user")
    results: list[tuple[str, dict[str, float], dict[str, float]]] = []
    results.append(("SQLite", measure("SQLite", None, small, args),
                    measure("SQLite", None, large, args)))
    if not args.sqlite_only:
        pg: list[dict[str, float]] = []
        for n in (small, large):
            with scratch_database() as url:  # a fresh database for each size
                if url is None:
                    print("  PostgreSQL: no server answers, skipped")
                    break
                pg.append(measure("PostgreSQL", url, n, args))
        if len(pg) == 2:
            results.append(("PostgreSQL", pg[0], pg[1]))
    print(f"\nratio of the page at {large:,} to the page at {small:,} (target: at most 2):")
    for database, a, b in results:
        print(f"  {database:10} " + ", ".join(f"{k} {b[k] / a[k]:.2f}x" for k in a))


if __name__ == "__main__":
    main()
