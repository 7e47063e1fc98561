"""The staff queue computes every open request's promises on each view (promises are never
stored: they come from the request's snapshot and events). How long does that take?

Creates N open requests (a mix of the four services, some with events) in a fresh SQLite
database, then times, in this process:
- the reference: loading the same requests from the database (no promises computed);
- `queue_rows` (load + promises + outcomes + sort) and the whole GET /staff/ page.
Prints each timing per request and the ratio to the reference.

    .venv/bin/python benchmarks/staff_queue.py [--requests 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forms_app.content import get_rules  # noqa: E402
from forms_app.storage import get_db  # noqa: E402
from forms_app.storage.casework import load_requests, queue_rows  # noqa: E402
from forms_app.storage.models import RequestEvent, ServiceRequest  # noqa: E402
from service_rules.workflow import OPEN_STATUSES  # noqa: E402
from tests.support.staff import add_staff, make_app, new_request, sign_in  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    today = dt.date(2026, 6, 15)
    app = make_app(tmp, TODAY=today)
    add_staff(app)
    services = ["green_channel", "second_opinion", "genetic_testing", "direct_billing"]
    refs = []
    for i in range(args.requests):
        day = today - dt.timedelta(days=i % 20)
        refs.append(new_request(app, services[i % 4], request_date=day, files=False))
    with app.app_context(), get_db().write_session() as s:
        for ref in refs[::2]:
            req = s.query(ServiceRequest).filter_by(reference=ref).one()
            req.status = "in_progress"
            req.events.append(RequestEvent(event_id="records_complete",
                                           event_date=today - dt.timedelta(days=1),
                                           recorded_by="bench"))
            req.events.append(RequestEvent(event_id="sample_received",
                                           event_date=today - dt.timedelta(days=1),
                                           recorded_by="bench"))
    client = app.test_client()
    sign_in(client)
    with app.test_request_context():
        load = best(lambda: load_requests(get_db(), statuses=OPEN_STATUSES), args.repeat)
        rules = get_rules()
        reqs = load_requests(get_db(), statuses=OPEN_STATUSES)
        compute = best(lambda: queue_rows(rules, reqs, today), args.repeat)
    page = best(lambda: client.get("/staff/"), args.repeat)
    n = args.requests
    print(f"{n} open requests (SQLite, best of {args.repeat})")
    print(f"reference: load from database   {load * 1000:8.1f} ms  "
          f"({load / n * 1e6:6.1f} µs/request)")
    print(f"promises + outcomes + sort       {compute * 1000:8.1f} ms  "
          f"({compute / n * 1e6:6.1f} µs/request, {compute / load:.2f}x the load)")
    print(f"whole GET /staff/ page           {page * 1000:8.1f} ms  "
          f"({page / n * 1e6:6.1f} µs/request, {page / load:.2f}x the load)")


if __name__ == "__main__":
    main()
