"""N working days after a date: this engine against chinese_calendar.find_workday.

The same 100,000 seeded random queries (start dates 2004-01-01 to 2026-11-13, so that even
30 working days later the answer stays inside chinesecalendar's 2004-2026 range; N from 1 to
30) go through both, in this process. Prints both timings, the ratio (target: at least 50x)
and whether every answer is identical.

find_workday(n, d) counts from the first working day on or after d, so it agrees with our
rule (d never counts; the answer is the n-th working day after d) when d is a working day, and
is one working day late when d is a rest day. The reference therefore asks it for
find_workday(n - 1, d) on rest days: it first moves to the next working day W, which is our
first working day after d, and then walks n - 1 more.

    .venv/bin/python benchmarks/deadlines.py [--queries 100000] [--seed 20261125]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import chinese_calendar  # noqa: E402

from service_rules import load_rules  # noqa: E402
from service_rules.deadlines import add_working_days  # noqa: E402

FIRST = dt.date(2004, 1, 1)
LAST = dt.date(2026, 11, 13)
TARGET = 50.0


def make_queries(count: int, seed: int) -> list[tuple[dt.date, int]]:
    rng = random.Random(seed)
    span = (LAST - FIRST).days
    return [(FIRST + dt.timedelta(days=rng.randint(0, span)), rng.randint(1, 30))
            for _ in range(count)]


def reference(queries: list[tuple[dt.date, int]]) -> list[dt.date]:
    find, is_workday = chinese_calendar.find_workday, chinese_calendar.is_workday
    return [find(n if is_workday(d) else n - 1, d) for d, n in queries]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    queries = make_queries(args.queries, args.seed)

    t0 = time.perf_counter()
    cal = load_rules().calendar
    build = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = [cal.add_workdays(d, n) for d, n in queries]
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    full = [add_working_days(cal, d, n).date for d, n in queries]
    t_full = time.perf_counter() - t0

    t0 = time.perf_counter()
    theirs = reference(queries)
    t_ref = time.perf_counter() - t0

    mismatches = [(q, a, b) for q, a, b in zip(queries, ours, theirs, strict=True) if a != b]
    identical = not mismatches and full == ours
    ratio = t_ref / t_ours
    per = 1e6 / len(queries)
    print(f"{len(queries):,} queries (dates {FIRST}..{LAST}, N 1-30, seed {args.seed})")
    print(f"load content + build calendar (once): {build * 1e3:8.1f} ms")
    print(f"WorkCalendar.add_workdays:            {t_ours:8.3f} s  {t_ours * per:7.2f} us/query")
    print(f"deadlines.add_working_days (+notes):  {t_full:8.3f} s  {t_full * per:7.2f} us/query")
    print(f"chinese_calendar.find_workday (ref):  {t_ref:8.3f} s  {t_ref * per:7.2f} us/query")
    print(f"ratio reference / add_workdays:       {ratio:8.1f}x  (target >= {TARGET:.0f}x: "
          f"{'met' if ratio >= TARGET else 'NOT met'})")
    print(f"ratio reference / add_working_days:   {t_ref / t_full:8.1f}x")
    print(f"answers identical: {'yes' if identical else 'NO'}"
          f" ({len(mismatches)} of {len(queries):,} differ)")
    rest_starts = sum(not chinese_calendar.is_workday(d) for d, _ in queries)
    print(f"queries starting on a rest day: {rest_starts:,} (plain find_workday(n, d) would "
          "answer one working day late there)")
    for (d, n), a, b in mismatches[:10]:
        print(f"  {d} + {n}: ours {a}, reference {b}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
