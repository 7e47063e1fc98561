"""Where the time of one form submission goes: cProfile over N valid second-opinion
submissions (in process, Flask test client, SQLite with WAL + synchronous=FULL in a temporary
folder), grouped by library, next to the bare body-reading endpoint on the same app.

    .venv/bin/python benchmarks/profile_submission.py [-n 200] [--file-kb 100] [--top 15]

Prints the share of each part (multipart parsing, form validation, SQLAlchemy, SQLite commit
and fsync, upload encryption and fsync, session cookie, rate limiter, ...) and the slowest
functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forms_app import create_app  # noqa: E402
from forms_app.storage.crypto import new_key  # noqa: E402
from forms_app.web.headers import BENCH_PATH  # noqa: E402
from tests.support.gunicorn_harness import (  # noqa: E402
    SUBMIT_PATH,
    csrf_token,
    encode_multipart,
    second_opinion_submission,
)

# (label, substring of the function's file or name), first match wins
GROUPS = [
    ("SQLite commit (WAL fsync)", "method 'commit' of 'sqlite3"),
    ("upload file + folder fsync", "built-in method posix.fsync"),
    ("upload file create (os.open)", "built-in method posix.open"),
    ("SQLite statements (C)", "method 'execute' of 'sqlite3"),
    ("regex search (mostly multipart)", "method 'search' of 're.Pattern'"),
    ("multipart parsing", "werkzeug/formparser"),
    ("multipart parsing", "werkzeug/sansio/multipart"),
    ("encryption (cryptography)", "cryptography"),
    ("SQLAlchemy ORM / core", "sqlalchemy"),
    ("WTForms / Flask-WTF", "wtforms"),
    ("WTForms / Flask-WTF", "flask_wtf"),
    ("session cookie / CSRF signing", "itsdangerous"),
    ("rate limiter", "flask_limiter"),
    ("rate limiter", "/limits/"),
    ("content rules / promises", "service_rules"),
    ("app code (forms_app)", "forms_app"),
    ("regular expressions", "/re/"),
    ("Flask / Werkzeug request handling", "werkzeug"),
    ("Flask / Werkzeug request handling", "flask"),
    ("JSON", "json"),
]


def group_of(func: tuple[str, int, str]) -> str:
    text = f"{func[0]}:{func[2]}"
    for label, needle in GROUPS:
        if needle in text:
            return label
    return "other (stdlib, builtins)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--file-kb", type=int, default=100)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    from http_load import pdf_of

    pdf = pdf_of(args.file_kb)
    with tempfile.TemporaryDirectory(prefix="profile-submit-") as tmp:
        app = create_app({
            "DATABASE_URL": f"sqlite:///{tmp}/forms.db", "UPLOAD_DIR": f"{tmp}/uploads",
            "SECRET_KEY": "profile", "DATA_KEY": new_key(), "HASH_KEY": "profile",
            "SUBMIT_RATE_LIMIT": "1000000 per minute", "BENCHMARK_ENDPOINTS": True,
            "SITE_DIR": f"{tmp}/no-site"})
        client = app.test_client()
        token = csrf_token(client.get(SUBMIT_PATH).data)
        bodies = [encode_multipart(s.fields, s.files) for s in
                  (second_opinion_submission(token, pdf) for _ in range(2 * args.n + 10))]

        def submit(i: int) -> None:
            body, ctype = bodies[i]
            resp = client.post(SUBMIT_PATH, data=body, content_type=ctype)
            assert resp.status_code == 303, resp.status_code

        def bare(i: int) -> None:
            body, ctype = bodies[i]
            assert client.post(BENCH_PATH, data=body, content_type=ctype).status_code == 200

        def timed(run: Callable[[int], None], first: int) -> float:
            t0 = time.perf_counter()
            for i in range(first, first + args.n):
                run(i)
            return (time.perf_counter() - t0) / args.n * 1000

        for i in range(10):
            submit(2 * args.n + i)
        # without the profiler first (its overhead falls mostly on Python code), then profiled
        bare_ms = timed(bare, 0)
        submit_ms = timed(submit, 0)
        profiler = cProfile.Profile()
        profiler.enable()
        total_ms = timed(submit, args.n)
        profiler.disable()
        app.extensions["forms_db"].dispose()

    stats = pstats.Stats(profiler)
    own: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for func, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        own[group_of(func)] += tottime
    profiled_total = sum(own.values())
    print(f"one submission ({args.file_kb} KB PDF, SQLite, in process): {submit_ms:.2f} ms; "
          f"the bare endpoint reading the same body: {bare_ms:.2f} ms (ratio "
          f"{bare_ms / submit_ms:.2f}); with the profiler on, a submission took {total_ms:.2f} ms")
    executes = sum(v[1] for k, v in raw.items() if "method 'execute' of 'sqlite3" in k[2])
    commits = sum(v[1] for k, v in raw.items() if "method 'commit' of 'sqlite3" in k[2])
    print(f"SQL statements per submission: {executes / args.n:.1f}, "
          f"commits: {commits / args.n:.1f}")
    print(f"{'part':<36} {'share':>6} {'ms/submission':>14}")
    for label, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        print(f"{label:<36} {seconds / profiled_total:6.1%} {seconds / args.n * 1000:14.3f}")
    print(f"\nslowest functions by own time (of {args.n} submissions):")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
