"""Roster import: 1,000,000 rows into the policy register, against a bare bulk insert of the
same rows in the same run (COPY on PostgreSQL, executemany on SQLite), with peak memory.

    .venv/bin/python benchmarks/roster_import.py [--rows 1000000] [--db sqlite|postgres|both]
                                                 [--again]

The roster is written once as CSV (valid ID numbers, names, dates, statuses). Each measured step
runs in a process of its own, so its peak resident memory (ru_maxrss from wait4) is its own:
- bare: the CSV's rows, as read by the csv module, into a table of text columns (SQLite:
  executemany in one transaction, WAL, synchronous=FULL like the app; PostgreSQL: COPY FROM STDIN
  of the file);
- import: `storage.register.import_roster_file` into a migrated database: parse and check every
  row, keyed hash and Fernet encryption of each ID number, lookups by chunk, inserts, history;
- again (--again): the same file a second time (every row unchanged: idempotent).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADER = ["保单号", "被保险人姓名", "身份证号码", "首次生效日期", "本期起期", "本期止期",
          "保单状态", "等待期天数", "保障计划"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def write_roster(path: Path, rows: int, seed: int = 13) -> None:
    from service_rules.identity import id_check_char

    rnd = random.Random(seed)
    today = dt.date.today()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(20000))
            first17 = f"110105{birth:%Y%m%d}{i % 1000:03d}"
            first = today - dt.timedelta(days=rnd.randrange(60, 2000))
            start = first
            while start + dt.timedelta(days=365) <= today:
                start += dt.timedelta(days=365)
            out.writerow([f"P{i:09d}", rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                          first17 + id_check_char(first17), first.isoformat(), start.isoformat(),
                          (start + dt.timedelta(days=364)).isoformat(),
                          "有效" if rnd.random() < 0.9 else "失效", "", "标准版"])


# -- the steps, each in a process of its own ---------------------------------------------------
def step_bare(db: str, url: str, path: Path) -> dict:
    if db == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"CREATE TABLE bare ({', '.join(f'c{i} TEXT' for i in range(len(HEADER)))})")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            marks = ", ".join("?" * len(HEADER))
            batch: list[list[str]] = []
            for row in reader:
                batch.append(row)
                if len(batch) == 10_000:
                    conn.executemany(f"INSERT INTO bare VALUES ({marks})", batch)
                    batch = []
            if batch:
                conn.executemany(f"INSERT INTO bare VALUES ({marks})", batch)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return {"seconds": elapsed}
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"CREATE TABLE bare ({', '.join(f'c{i} text' for i in range(len(HEADER)))})")
        started = time.perf_counter()
        with conn.cursor() as cur, open(path, "rb") as fh:
            with cur.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    copy.write(block)
        conn.commit()
        return {"seconds": time.perf_counter() - started}


def step_import(db: str, url: str, path: Path) -> dict:
    from forms_app.storage.crypto import Crypto, new_key
    from forms_app.storage.database import Database
    from forms_app.storage.register import import_roster_file
    from service_rules import load_content

    sa_url = f"sqlite:///{url}" if db == "sqlite" else url
    database = Database(sa_url)
    database.upgrade(lock_dir=Path(tempfile.gettempdir()))
    key_file = Path(url + ".keys") if db == "sqlite" else Path(tempfile.gettempdir()) / "rk.keys"
    if key_file.exists():
        data_key, hash_key = key_file.read_text().split()
    else:
        data_key, hash_key = new_key(), new_key()
        key_file.write_text(f"{data_key} {hash_key}")
    crypto = Crypto(data_key, hash_key)
    roster = load_content(ROOT / "content").roster_file
    started = time.perf_counter()
    report = import_roster_file(database, crypto, roster, path, actor="benchmark",
                                today=dt.date.today())
    elapsed = time.perf_counter() - started
    database.dispose()
    return {"seconds": elapsed, "added": report.added, "unchanged": report.unchanged,
            "refused": report.refused, "outcome": report.outcome}


def run_step(step: str, db: str, url: str, path: Path) -> dict:
    """The step in a child process: its own figures plus its peak resident memory."""
    proc = subprocess.Popen([sys.executable, __file__, "--step", step, "--db", db, "--url", url,
                             "--csv", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{step} on {db} failed")
    result = json.loads(out)
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def pg_schema_url() -> tuple[str, str] | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"),
                             connect_timeout=2, autocommit=True) as conn:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception:
        return None
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--again", action="store_true", help="import the same file twice")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        fn = step_bare if args.step == "bare" else step_import
        print(json.dumps(fn(args.db, args.url, Path(args.csv))))
        return

    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "roster.csv"
        started = time.perf_counter()
        write_roster(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"roster: {args.rows:,} rows, {size_mb:.0f} MB CSV "
              f"(written in {time.perf_counter() - started:.1f} s)")
        targets = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        for db in targets:
            schema = None
            if db == "sqlite":
                bare_url, app_url = str(folder / "bare.db"), str(folder / "register.db")
            else:
                made = pg_schema_url()
                if made is None:
                    print("postgres: not reachable, skipped")
                    continue
                schema, bare_url = made
                app_url = bare_url
            try:
                bare = run_step("bare", db, bare_url, path)
                imp = run_step("import", db, app_url, path)
                assert imp["added"] + imp["refused"] == args.rows, imp
                label = "COPY" if db == "postgres" else "executemany"
                print(f"{db}: bare {label} {bare['seconds']:.1f} s "
                      f"(peak {bare['peak_mb']:.0f} MB); import {imp['seconds']:.1f} s "
                      f"= {imp['seconds'] / bare['seconds']:.1f}x bare, "
                      f"{args.rows / imp['seconds']:,.0f} rows/s, peak {imp['peak_mb']:.0f} MB; "
                      f"added {imp['added']:,}, refused {imp['refused']}")
                if args.again:
                    again = run_step("import", db, app_url, path)
                    print(f"{db}: same file again {again['seconds']:.1f} s "
                          f"= {again['seconds'] / bare['seconds']:.1f}x bare, "
                          f"peak {again['peak_mb']:.0f} MB; unchanged {again['unchanged']:,}")
            finally:
                if schema:
                    drop_schema(schema)


if __name__ == "__main__":
    main()
