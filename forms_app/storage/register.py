"""The insurer's policy register: importing the roster, finding an applicant in it, and the
assessment a new request (online or hotline) is made under. No Flask.

Import (`import_roster`):
- one write transaction for the whole file, read and written in chunks, so memory stays bounded
  and a file refused part-way (unreadable, a column missing) changes nothing; the refusal is
  still kept in the history;
- idempotent: a record is keyed by (policy number, ID number hash); a row equal to its record
  (keyed hash of its values) is "unchanged", another one "changed", a new key "added". Records
  a file leaves out stay as they were (an insurer may send part of its book; a status column
  says what lapsed);
- a row that cannot be read is refused with its line number and reasons, the other rows are
  imported; a second row for the same policy and insured is refused as a duplicate when the
  first one was added or changed by this file (a repeat of an unchanged row changes nothing);
- ID numbers are kept only as `lookup_hash(ID_PURPOSE, ...)` (the same hash requests use, so
  the register and requests join on it) and Fernet-encrypted; reports hold line numbers and
  reasons only.

On SQLite the import holds the write lock while it runs (submissions wait up to the busy
timeout): import large rosters in a quiet hour, or run on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from service_rules.eligibility import (
    IN_FORCE,
    PENDING,
    UNVERIFIED,
    VERIFIED,
    Eligibility,
    PolicyRecord,
    Reason,
    check_eligibility,
    match_record,
)
from service_rules.identity import mask_id_number
from service_rules.models import Content, RosterFile, Service
from service_rules.roster import (
    RefusedRow,
    RosterFileError,
    RosterRow,
    RowParser,
    map_columns,
)
from service_rules.workflow import NOT_USED_STATUSES

from .crypto import Crypto
from .database import Database
from .models import AuditLog, RequestEvent, RosterImport, ServiceRequest, utcnow
from .models import PolicyRecord as PolicyRecordRow
from .requests import ID_PURPOSE, policy_year_start, precheck
from .roster_files import iter_rows

ROW_PURPOSE = "roster_row"
CHUNK_ROWS = 2000
REPORTED_REFUSALS = 1000  # refused rows listed in the history; the rest are counted
APPLIED, REFUSED = "applied", "refused"

_RECORDS = PolicyRecordRow.__table__
_IMPORTS = RosterImport.__table__
_REQUESTS = ServiceRequest.__table__
_EVENTS = RequestEvent.__table__
_AUDIT = AuditLog.__table__

_EXISTING = select(_RECORDS.c.id, _RECORDS.c.policy_number, _RECORDS.c.id_hash,
                   _RECORDS.c.row_hash, _RECORDS.c.import_id, _RECORDS.c.source_line
                   ).where(_RECORDS.c.id_hash.in_(bindparam("hashes", expanding=True)))
_UPDATE = update(_RECORDS).where(_RECORDS.c.id == bindparam("_id")).values(
    id_number_enc=bindparam("id_number_enc"), id_number_masked=bindparam("id_number_masked"),
    insured_name=bindparam("insured_name"), first_effective=bindparam("first_effective"),
    period_start=bindparam("period_start"), period_end=bindparam("period_end"),
    status=bindparam("status"), waiting_period_days=bindparam("waiting_period_days"),
    plan=bindparam("plan"), row_hash=bindparam("row_hash"), import_id=bindparam("import_id"),
    source_line=bindparam("source_line"))
_LATEST_IMPORT = select(func.max(_IMPORTS.c.id)).where(_IMPORTS.c.outcome == APPLIED)
_BY_HASH = select(_RECORDS).where(_RECORDS.c.id_hash == bindparam("id_hash"))


@dataclass
class ImportReport:
    """What an import did, for the console, the command and the history."""

    filename: str
    file_sha256: str
    file_format: str = ""
    outcome: str = APPLIED
    import_id: int | None = None
    rows_read: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    refused_rows: list[tuple[int, str]] = field(default_factory=list)
    file_problem: str | None = None
    dry_run: bool = False

    def summary(self) -> str:
        """One plain sentence: what happened to the register."""
        if self.outcome == REFUSED:
            return f"文件“{self.filename}”没有导入，名册没有任何改变：{self.file_problem}"
        head = "试导入（没有保存）" if self.dry_run else "导入完成"
        return (f"{head}：读取 {self.rows_read} 行，新增 {self.added} 行，更改 {self.changed} 行，"
                f"未变 {self.unchanged} 行，拒收 {self.refused} 行。")

    def lines(self) -> list[str]:
        out = [self.summary()]
        out += [f"第 {line} 行：{reason}" for line, reason in self.refused_rows]
        hidden = self.refused - len(self.refused_rows)
        if hidden > 0:
            out.append(f"另有 {hidden} 行被拒收（这里只列出前 {len(self.refused_rows)} 行）。")
        return out


class _DryRun(Exception):
    pass


def file_digest(stream: IO[bytes]) -> str:
    """SHA-256 of the whole stream (read in blocks), rewound afterwards."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


def import_roster_file(db: Database, crypto: Crypto, roster: RosterFile, path: Path, *,
                       actor: str, today: dt.date, dry_run: bool = False) -> ImportReport:
    with open(path, "rb") as stream:
        return import_roster(db, crypto, roster, stream, filename=path.name, actor=actor,
                             today=today, dry_run=dry_run)


def import_roster(db: Database, crypto: Crypto, roster: RosterFile, stream: IO[bytes], *,
                  filename: str, actor: str, today: dt.date, dry_run: bool = False,
                  chunk_rows: int = CHUNK_ROWS) -> ImportReport:
    """Import one roster file (see the module docstring). `stream` must be seekable."""
    report = ImportReport(filename=filename[:255], file_sha256=file_digest(stream),
                          dry_run=dry_run)
    started = utcnow()
    try:
        with db.write_connection() as conn:
            report.import_id = conn.execute(insert(_IMPORTS), {
                "started_at": started, "actor": actor, "filename": report.filename,
                "file_format": "", "file_sha256": report.file_sha256, "outcome": APPLIED,
                "rows_read": 0, "added": 0, "changed": 0, "unchanged": 0, "refused": 0,
                "refused_rows": []}).inserted_primary_key[0]
            if conn.dialect.name == "postgresql":
                # the lookups by chunk must use the id_hash index: a table just filled by COPY
                # has no statistics yet and the planner scanned all of it for every chunk
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            _import_rows(conn, crypto, roster, stream, report, today, chunk_rows)
            if report.rows_read == 0:
                raise RosterFileError("文件里只有列标题，没有数据行。")
            if report.refused == report.rows_read:
                raise RosterFileError(f"全部 {report.rows_read} 行都有问题，"
                                      f"例如第 {report.refused_rows[0][0]} 行："
                                      f"{report.refused_rows[0][1]}")
            conn.execute(update(_IMPORTS).where(_IMPORTS.c.id == report.import_id)
                         .values({**_history(report), "finished_at": utcnow()}))
            conn.execute(insert(_AUDIT), {"at": utcnow(), "actor": actor,
                                          "action": "roster_imported", "request_id": None,
                                          "details": _audit_details(report)})
            if dry_run:
                raise _DryRun
    except _DryRun:
        report.import_id = None
    except RosterFileError as exc:
        report.outcome, report.file_problem = REFUSED, str(exc)
        report.import_id = None
        report.added = report.changed = report.unchanged = 0
        if not dry_run:  # the attempt is history too; the records are untouched
            with db.write_connection() as conn:
                report.import_id = conn.execute(insert(_IMPORTS), {
                    "started_at": started, "finished_at": utcnow(), "actor": actor,
                    **_history(report)}).inserted_primary_key[0]
                conn.execute(insert(_AUDIT), {"at": utcnow(), "actor": actor,
                                              "action": "roster_refused", "request_id": None,
                                              "details": _audit_details(report)})
    return report


def _history(report: ImportReport) -> dict[str, Any]:
    return {"filename": report.filename, "file_format": report.file_format,
            "file_sha256": report.file_sha256, "outcome": report.outcome,
            "rows_read": report.rows_read, "added": report.added, "changed": report.changed,
            "unchanged": report.unchanged, "refused": report.refused,
            "file_problem": report.file_problem,
            "refused_rows": [list(r) for r in report.refused_rows]}


def _audit_details(report: ImportReport) -> dict[str, Any]:
    return {"import_id": report.import_id, "file_sha256": report.file_sha256,
            "outcome": report.outcome, "added": report.added, "changed": report.changed,
            "unchanged": report.unchanged, "refused": report.refused}


def _import_rows(conn: Connection, crypto: Crypto, roster: RosterFile, stream: IO[bytes],
                 report: ImportReport, today: dt.date, chunk_rows: int) -> None:
    fmt, rows = iter_rows(stream, report.filename)
    report.file_format = fmt
    columns = None
    chunk: list[RosterRow] = []
    for line, values in rows:
        if columns is None:
            if all(v is None or str(v).strip() == "" for v in values):
                continue  # blank lines above the headings
            columns = map_columns(values, roster)
            parser = RowParser(columns, roster, today)
            continue
        parsed = parser.parse(line, values)
        if parsed is None:
            continue
        report.rows_read += 1
        if isinstance(parsed, RefusedRow):
            _refuse(report, parsed.line, parsed.reason)
            continue
        chunk.append(parsed)
        if len(chunk) >= chunk_rows:
            _write_chunk(conn, crypto, chunk, report)
            chunk = []
    if columns is None:
        raise RosterFileError("文件是空的：第一行应是列标题，下面每行一位被保险人。")
    if chunk:
        _write_chunk(conn, crypto, chunk, report)


def _refuse(report: ImportReport, line: int, reason: str) -> None:
    report.refused += 1
    if len(report.refused_rows) < REPORTED_REFUSALS:
        report.refused_rows.append((line, reason))


def _row_hash(crypto: Crypto, record: PolicyRecord, id_hash: str) -> str:
    values = (record.policy_number, id_hash, record.insured_name,
              record.first_effective.isoformat(), record.period_start.isoformat(),
              record.period_end.isoformat(), record.status,
              "" if record.waiting_period_days is None else str(record.waiting_period_days),
              record.plan or "")
    return crypto.lookup_hash(ROW_PURPOSE, "\x1f".join(values))


def _write_chunk(conn: Connection, crypto: Crypto, chunk: list[RosterRow],
                 report: ImportReport) -> None:
    hashes = [crypto.lookup_hash(ID_PURPOSE, row.id_number) for row in chunk]
    existing = {(r.policy_number, r.id_hash): r
                for r in conn.execute(_EXISTING, {"hashes": sorted(set(hashes))})}
    seen: dict[tuple[str, str], int] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row, id_hash in zip(chunk, hashes, strict=True):
        rec = row.record
        key = (rec.policy_number, id_hash)
        found = existing.get(key)
        first = seen.get(key)
        if first is None and found is not None and found.import_id == report.import_id:
            first = found.source_line
        if first is not None:
            _refuse(report, row.line, f"与第 {first} 行的保单号和身份证号码相同（重复的行）。")
            continue
        seen[key] = row.line
        row_hash = _row_hash(crypto, rec, id_hash)
        if found is not None and found.row_hash == row_hash:
            report.unchanged += 1
            continue
        values = {"id_number_enc": crypto.encrypt_text(row.id_number),
                  "id_number_masked": mask_id_number(row.id_number),
                  "insured_name": rec.insured_name, "first_effective": rec.first_effective,
                  "period_start": rec.period_start, "period_end": rec.period_end,
                  "status": rec.status, "waiting_period_days": rec.waiting_period_days,
                  "plan": rec.plan, "row_hash": row_hash, "import_id": report.import_id,
                  "source_line": row.line}
        if found is None:
            inserts.append({"policy_number": rec.policy_number, "id_hash": id_hash, **values})
        else:
            updates.append({"_id": found.id, **values})
    if inserts:
        if conn.dialect.name == "postgresql":
            _copy(conn, inserts)
        else:  # the driver's executemany: SQLAlchemy's per-row parameter work halved the rate
            conn.exec_driver_sql(_SQLITE_INSERT, [
                tuple(d.isoformat() if isinstance(d := row[c], dt.date) else d
                      for c in _COPY_COLUMNS) for row in inserts])
        report.added += len(inserts)
    if updates:
        conn.execute(_UPDATE, updates)
        report.changed += len(updates)


_COPY_COLUMNS = ("policy_number", "id_hash", "id_number_enc", "id_number_masked",
                 "insured_name", "first_effective", "period_start", "period_end", "status",
                 "waiting_period_days", "plan", "row_hash", "import_id", "source_line")


_SQLITE_INSERT = (f"INSERT INTO policy_record ({', '.join(_COPY_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _COPY_COLUMNS)})")


def _copy(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: new records by COPY in the import's transaction (an INSERT of many VALUES
    took four times as long)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur, cur.copy(
            f"COPY policy_record ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row[c] for c in _COPY_COLUMNS))


# -- reading the register -----------------------------------------------------------------------
def latest_import_id(conn: Connection) -> int | None:
    """The last import applied: None while no register is loaded."""
    return conn.scalar(_LATEST_IMPORT)


def records_for(conn: Connection, crypto: Crypto, id_number: str) -> list[PolicyRecord]:
    """Every record held under this ID number."""
    return [PolicyRecord(r.policy_number, r.insured_name, r.first_effective, r.period_start,
                         r.period_end, r.status, r.waiting_period_days, r.plan)
            for r in conn.execute(_BY_HASH,
                                  {"id_hash": crypto.lookup_hash(ID_PURPOSE, id_number)})]


_USED_IN_PERIOD = select(exists(
    select(_REQUESTS.c.id).where(
        _REQUESTS.c.policy_number == bindparam("policy_number"),
        _REQUESTS.c.id_hash == bindparam("id_hash"),
        _REQUESTS.c.use_id == bindparam("use_id"),
        _REQUESTS.c.status.not_in(NOT_USED_STATUSES),
        exists(select(_EVENTS.c.id).where(
            _EVENTS.c.request_id == _REQUESTS.c.id, _EVENTS.c.event_id == "request",
            _EVENTS.c.event_date.between(bindparam("start"), bindparam("end"))))))
)


def used_in_period(conn: Connection, crypto: Crypto, *, policy_number: str, id_number: str,
                   use_id: str, start: dt.date, end: dt.date) -> bool:
    """Whether a request for this use (not lapsed, declined or withdrawn) was made for this
    policy and insured between `start` and `end`, whatever dates it was typed with and
    whichever channel (online form, hotline) made it: all go through `create_request`."""
    return bool(conn.scalar(_USED_IN_PERIOD, {
        "policy_number": policy_number, "id_hash": crypto.lookup_hash(ID_PURPOSE, id_number),
        "use_id": use_id, "start": start, "end": end}))


@dataclass(frozen=True)
class Assessment:
    """Everything a new request is decided and stored under (online and hotline alike)."""

    existing: str | None            # an earlier submission of the same form
    eligibility: Eligibility
    register_status: str            # verified / pending / unverified
    register_import_id: int | None
    register_note: str | None       # for staff: why pending
    applicant_message: str          # calm sentence with the hotline when pending ("" else)
    policy_number: str              # to store: the register's when verified
    policy_effective: dt.date       # to store: the first effective date
    policy_year_start: dt.date


def assess(conn: Connection, crypto: Crypto, content: Content, service: Service, *,
           use_id: str, insured_name: str, id_number: str, policy_number: str,
           policy_effective: dt.date, diagnosis: dt.date, first_diagnosis: bool,
           today: dt.date, token: str) -> Assessment:
    """Check a new request against the register when one is loaded, else on the typed dates
    (未核实). A verified applicant is checked on the register's first effective date (waiting
    period), current period (policy year) and the uses of that period; one the register cannot
    confirm is `pending` (待核实) or, with `pending_when_not_verified: false`, refused with a
    calm message."""
    use = service.use(use_id)
    product = content.product
    waiting = product.waiting_period_days if service.waiting_period else 0
    hotline = product.hotline.display
    import_id = latest_import_id(conn)
    status, note, message = UNVERIFIED, None, ""
    effective, number, current = policy_effective, policy_number, None
    refusal: Reason | None = None
    if import_id is not None:
        found = match_record(records_for(conn, crypto, id_number), name=insured_name,
                             policy_number=policy_number, today=today, hotline=hotline)
        if found.verified and found.record is not None:
            rec = found.record
            status, effective, number = VERIFIED, rec.first_effective, rec.policy_number
            current = (rec.period_start, rec.period_end)
            if service.waiting_period and rec.waiting_period_days is not None:
                waiting = rec.waiting_period_days
        else:
            status, note, message = PENDING, found.staff_note, found.applicant_message
            if not content.roster_file.pending_when_not_verified:
                refusal = Reason(f"register_{found.outcome}", message)
    year_start = current[0] if current else policy_year_start(effective, today)
    existing, used = precheck(conn, crypto, token=token, policy_number=number,
                              id_number=id_number, use_id=use_id, year_start=year_start)
    if current and use.limited and not used and used_in_period(
            conn, crypto, policy_number=number, id_number=id_number, use_id=use_id,
            start=current[0], end=current[1]):
        used = {use_id}
    if refusal is not None:
        eligibility = Eligibility(False, (refusal,))
    else:
        eligibility = check_eligibility(
            effective=effective, waiting_days=waiting, diagnosis=diagnosis, request=today,
            first_diagnosis=first_diagnosis, use_id=use_id, use_name=use.name, used=used,
            policy_end=current[1] if current else None, limited=use.limited,
            current_year=current)
    return Assessment(existing, eligibility, status, import_id, note, message, number,
                      effective, year_start)


# -- what the console shows ----------------------------------------------------------------------
@dataclass(frozen=True)
class RegisterSummary:
    records: int
    in_force: int
    latest: RosterImport | None


def register_summary(db: Database) -> RegisterSummary:
    with db.read_session() as s:
        records = s.scalar(select(func.count()).select_from(_RECORDS)) or 0
        in_force = s.scalar(select(func.count()).select_from(_RECORDS)
                            .where(_RECORDS.c.status == IN_FORCE)) or 0
        latest_id = s.scalar(_LATEST_IMPORT)
        latest = s.get(RosterImport, latest_id) if latest_id is not None else None
        return RegisterSummary(records, in_force, latest)


def import_history(db: Database, limit: int = 20) -> list[RosterImport]:
    """The latest imports, applied and refused, newest first."""
    with db.read_session() as s:
        return list(s.scalars(select(RosterImport).order_by(RosterImport.id.desc())
                              .limit(limit)))


def import_by_id(db: Database, import_id: int | None) -> RosterImport | None:
    if import_id is None:
        return None
    with db.read_session() as s:
        return s.get(RosterImport, import_id)

