"""Creating and finding requests: reference numbers, idempotent submission, "already used",
and what the applicant's own pages read.

Framework-free (takes a `Database`, `Crypto` and plain values) so the same code runs under the
request app, the staff console, commands and the tests, on SQLite and PostgreSQL. One write
path on both databases: Core inserts in one write transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from service_rules.eligibility import policy_year
from service_rules.identity import mask_id_number, mask_mobile, new_reference
from service_rules.promises import Snapshot
from service_rules.workflow import (
    BY_APPLICANT,
    CHANNEL_ONLINE,
    CONSENT_ONLINE_FORM,
    CONSENT_PHONE,
    NOT_USED_STATUSES,
    STATUS_OPEN,
)

from .crypto import Crypto
from .database import Database
from .files import fsync_dir, store
from .models import (
    AuditLog,
    RequestDocument,
    RequestEvent,
    ServiceRequest,
    ServiceSnapshot,
    utcnow,
)
from .outbox import queue_submission_message
from .queue_order import opening_due_state
from .search import search_hashes
from .status_links import LinkIssuer

log = logging.getLogger(__name__)

ID_PURPOSE = "id_number"
ID_LAST4_PURPOSE = "id_last4"
REFERENCE_ATTEMPTS = 8


@dataclass
class NewRequest:
    """Everything a validated form gives, in plain values."""

    service_id: str
    use_id: str
    insured_name: str
    id_number: str
    phone: str
    applicant_relation: str
    applicant_name: str | None
    applicant_phone: str | None
    policy_number: str
    policy_effective: dt.date
    diagnosis_date: dt.date
    first_diagnosis: bool
    city_id: str | None
    hospital_id: str | None
    details: dict[str, Any]
    consent_text: str
    submission_token: str
    content_version: str
    service_snapshot: dict[str, Any]
    request_date: dt.date                      # Asia/Shanghai date of the submission
    events: dict[str, dt.date] = field(default_factory=dict)  # other dated events given
    files: list[tuple[str, bytes, str, str]] = field(default_factory=list)  # type, data, ext, mime
    # the name the applicant gave each of `files` (same order), shown back to them only
    file_names: list[str | None] = field(default_factory=list)
    initial_promises: list[dict[str, Any]] = field(default_factory=list)
    # `snapshot_digest(service_snapshot)` if the caller has it (cached per content version)
    snapshot_digest: str = ""
    # uses allowed per policy year (None: no limit), enforced in the write transaction
    use_limit: int | None = None
    # how it came in: the online form, or staff for a caller on the hotline (who then
    # recorded the consent read out by phone, and the request's first events)
    channel: str = CHANNEL_ONLINE
    recorded_by: str = BY_APPLICANT
    consent_method: str = CONSENT_ONLINE_FORM
    consent_version: str | None = None
    # the privacy notice's version (content/privacy.yaml) shown with the consent
    notice_version: str | None = None
    # against the insurer's register (see storage/register.py `assess`): verified, pending
    # (待核实) or unverified (未核实, no register loaded); a verified request's policy year
    # is the register's, not one computed from a typed date
    register_status: str = "unverified"
    register_import_id: int | None = None
    register_note: str | None = None
    policy_year_start: dt.date | None = None
    # issues the applicant's status link for the submission message in the request's own
    # transaction (None: no link); made by the layer that knows the app's public address
    # (messages/links.py)
    status_link: LinkIssuer | None = None


DISPLAY_NAME_MAX = 80


def display_name(filename: str | None) -> str | None:
    """A file's name as the applicant chose it, safe to keep and show back to them: the last
    path part, printable characters only, at most DISPLAY_NAME_MAX (the end kept: the
    extension says most)."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[-DISPLAY_NAME_MAX:] or None


def policy_year_start(effective: dt.date, day: dt.date) -> dt.date:
    return policy_year(effective, day)[0] if day >= effective else effective


def find_by_reference(session: Session, reference: str) -> ServiceRequest | None:
    """The request with its events (one query: every page showing a request reads them)."""
    return session.scalars(
        select(ServiceRequest).where(ServiceRequest.reference == reference)
        .options(joinedload(ServiceRequest.events))).unique().first()


_REQUESTS = ServiceRequest.__table__
_DOCUMENTS = RequestDocument.__table__
_EVENTS = RequestEvent.__table__
_AUDIT = AuditLog.__table__
_SNAPSHOTS = ServiceSnapshot.__table__
# Core statements (no ORM unit of work, no identity map): built once, compiled once per dialect
_REFERENCE_BY_TOKEN = select(_REQUESTS.c.reference).where(
    _REQUESTS.c.submission_token == bindparam("token"))
_REFERENCE_TAKEN = select(_REQUESTS.c.id).where(_REQUESTS.c.reference == bindparam("reference"))
_USED = select(_REQUESTS.c.id).where(
    _REQUESTS.c.policy_number == bindparam("policy_number"),
    _REQUESTS.c.id_hash == bindparam("id_hash"),
    _REQUESTS.c.use_id == bindparam("use_id"),
    _REQUESTS.c.policy_year_start == bindparam("year_start"),
    _REQUESTS.c.status.not_in(NOT_USED_STATUSES),
).limit(1)
# both reads before a submission's write in one statement (one round trip on PostgreSQL):
# the reference of an earlier submission of the same form, and whether the use is taken
_PRECHECK = select(
    select(_REQUESTS.c.reference).where(_REQUESTS.c.submission_token == bindparam("token"))
    .scalar_subquery().label("existing"),
    exists(_USED).label("used"))
_INSERT_REQUEST = insert(_REQUESTS)
_INSERT_DOCUMENT = insert(_DOCUMENTS)
_INSERT_EVENT = insert(_EVENTS)
_INSERT_AUDIT = insert(_AUDIT)
_SNAPSHOT_BY_DIGEST = select(_SNAPSHOTS.c.id).where(_SNAPSHOTS.c.digest == bindparam("digest"))
# a concurrent submission may insert the same snapshot first (PostgreSQL): then do nothing
_INSERT_SNAPSHOT = {
    "postgresql": postgresql.insert(_SNAPSHOTS).on_conflict_do_nothing(index_elements=["digest"]),
    "sqlite": sqlite.insert(_SNAPSHOTS).on_conflict_do_nothing(index_elements=["digest"]),
}
# digest -> service_snapshot.id, per Database, filled only after a commit that saw the row
_snapshot_ids: weakref.WeakKeyDictionary[Database, dict[str, int]] = weakref.WeakKeyDictionary()


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON: equal snapshots share one stored row."""
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot_id(conn: Connection, new: NewRequest, digest: str, known: dict[str, int]) -> int:
    """The id of the stored snapshot with this digest, inserted if new (caller's write
    transaction)."""
    if digest in known:
        return known[digest]
    found = conn.scalar(_SNAPSHOT_BY_DIGEST, {"digest": digest})
    if found is None:
        stmt = _INSERT_SNAPSHOT.get(conn.dialect.name, insert(_SNAPSHOTS))
        conn.execute(stmt, {"digest": digest, "content_version": new.content_version,
                            "service_id": new.service_id, "snapshot": new.service_snapshot})
        found = conn.scalar(_SNAPSHOT_BY_DIGEST, {"digest": digest})
    assert found is not None
    return found


def reference_for_token(conn: Session | Connection, token: str) -> str | None:
    """The reference of the request submitted with this form's token, if any (one column)."""
    return conn.scalar(_REFERENCE_BY_TOKEN, {"token": token})


def token_taken(db: Database, token: str) -> bool:
    """Whether a request was already submitted with this form token."""
    with db.read_connection() as conn:
        return reference_for_token(conn, token) is not None


def precheck(conn: Connection, crypto: Crypto, *, token: str, policy_number: str,
             id_number: str, use_id: str, year_start: dt.date) -> tuple[str | None, set[str]]:
    """(reference of an earlier submission with this form's token or None, {use_id} if a
    request for this use (not lapsed, declined or withdrawn) exists for the same policy and
    insured in the same policy year, else an empty set), read in one statement."""
    row = conn.execute(_PRECHECK, {
        "token": token, "policy_number": policy_number,
        "id_hash": crypto.lookup_hash(ID_PURPOSE, id_number), "use_id": use_id,
        "year_start": year_start}).one()
    return row.existing, ({use_id} if row.used else set())


def create_request(db: Database, crypto: Crypto, upload_dir: Path, new: NewRequest,
                   make_reference: Callable[[], str] = new_reference, *,
                   token_checked: bool = False) -> tuple[str, bool]:
    """Store the request, its files and its first events in one transaction.

    Returns (reference, created). A second submission with the same token returns the first
    request's reference with created=False. Files are written (encrypted, fsynced) before the
    transaction commits and removed again if it does not. `token_checked`: the caller has just
    looked the token up (the unique constraint still catches a concurrent duplicate).

    The rows go in with Core inserts (snapshot if new, request, events, documents, audit) in
    one write transaction; a taken token or reference shows up as an IntegrityError from the
    unique constraints, not as a select before every insert.
    """
    if not token_checked:
        # a read (no write lock): spares writing the files of an obvious duplicate
        with db.read_connection() as conn:
            existing = reference_for_token(conn, new.submission_token)
        if existing is not None:
            return existing, False

    stored = [(doc_type, store(upload_dir, crypto, data), data, ext, mime)
              for doc_type, data, ext, mime in new.files]
    if stored:
        fsync_dir(upload_dir)
    try:
        now = utcnow()
        row = _request_row(crypto, new, now)
        digest = new.snapshot_digest or snapshot_digest(new.service_snapshot)
        known = _snapshot_ids.setdefault(db, {})
        for _attempt in range(REFERENCE_ATTEMPTS):
            reference = make_reference()
            try:
                with db.write_connection() as conn:
                    if new.use_limit is not None:
                        _check_uses_left(conn, new, row)
                    row["snapshot_id"] = snapshot_id = _snapshot_id(conn, new, digest, known)
                    _insert(conn, crypto, new, row, reference, stored, now)
                known[digest] = snapshot_id  # committed: safe to reuse
                return reference, True
            except IntegrityError:
                # the token or the reference was taken (a double submit, a concurrent insert,
                # a collision of random references): find out which
                with db.read_connection() as conn:
                    if reference_for_token(conn, new.submission_token) is not None:
                        raise _Duplicate from None
                    if conn.scalar(_REFERENCE_TAKEN, {"reference": reference}) is None:
                        raise  # some other constraint: not ours to retry
                continue  # collision: draw again
        raise RuntimeError("could not draw a free reference number")
    except _Duplicate:
        _remove(stored)
        with db.read_connection() as conn:
            existing = reference_for_token(conn, new.submission_token)
        assert existing is not None
        return existing, False
    except BaseException:
        _remove(stored)
        raise


class _Duplicate(Exception):
    pass


class AlreadyUsed(Exception):
    """The insured has used this service's use as often as a policy year allows (found in the
    write transaction: a concurrent submission got there first)."""


_USES = select(func.count()).select_from(_REQUESTS).where(
    _REQUESTS.c.policy_number == bindparam("policy_number"),
    _REQUESTS.c.id_hash == bindparam("id_hash"),
    _REQUESTS.c.use_id == bindparam("use_id"),
    _REQUESTS.c.policy_year_start == bindparam("year_start"),
    _REQUESTS.c.status.not_in(NOT_USED_STATUSES))


def _check_uses_left(conn: Connection, new: NewRequest, row: dict[str, Any]) -> None:
    """Count the uses inside the write transaction, after taking the insured's lock, so two
    simultaneous submissions cannot both see "not used yet". SQLite's BEGIN IMMEDIATE already
    lets one writer in at a time; PostgreSQL takes a transaction-scoped advisory lock on the
    (policy, insured, use) triple."""
    params = {"policy_number": row["policy_number"], "id_hash": row["id_hash"],
              "use_id": row["use_id"], "year_start": row["policy_year_start"]}
    if conn.dialect.name == "postgresql":
        key = f"use:{params['policy_number']}:{params['id_hash']}:{params['use_id']}"
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": key})
    if (conn.scalar(_USES, params) or 0) >= (new.use_limit or 0):
        raise AlreadyUsed(new.use_id)


def _remove(stored: list[tuple[Any, ...]]) -> None:
    for item in stored:
        item[1].path.unlink(missing_ok=True)


def _request_row(crypto: Crypto, new: NewRequest, now: dt.datetime) -> dict[str, Any]:
    return {
        "service_id": new.service_id,
        "use_id": new.use_id,
        "status": STATUS_OPEN,
        "insured_name": new.insured_name,
        "id_number_enc": crypto.encrypt_text(new.id_number),
        "id_number_masked": mask_id_number(new.id_number),
        "id_hash": crypto.lookup_hash(ID_PURPOSE, new.id_number),
        "phone_enc": crypto.encrypt_text(new.phone),
        "phone_masked": mask_mobile(new.phone),
        "applicant_relation": new.applicant_relation,
        "applicant_name": new.applicant_name,
        "applicant_phone_enc": crypto.encrypt_text(new.applicant_phone)
        if new.applicant_phone else None,
        "applicant_phone_masked": mask_mobile(new.applicant_phone)
        if new.applicant_phone else None,
        "policy_number": new.policy_number,
        "policy_effective": new.policy_effective,
        "policy_year_start": new.policy_year_start
        or policy_year_start(new.policy_effective, new.request_date),
        "diagnosis_date": new.diagnosis_date,
        "first_diagnosis": new.first_diagnosis,
        "city_id": new.city_id,
        "hospital_id": new.hospital_id,
        "details": new.details,
        "consent_at": now,
        "consent_text": new.consent_text,
        "consent_version": new.consent_version,
        "notice_version": new.notice_version,
        "consent_method": new.consent_method,
        "consent_recorded_by": new.recorded_by if new.consent_method == CONSENT_PHONE else None,
        "channel": new.channel,
        "created_at": now,
        "submission_token": new.submission_token,
        "content_version": new.content_version,
        "initial_promises": new.initial_promises,
        "register_status": new.register_status,
        "register_import_id": new.register_import_id,
        "register_note": new.register_note,
        **search_hashes(crypto, new.insured_name, new.phone, new.applicant_phone),
        **opening_due_state(new.service_snapshot, new.initial_promises,
                            {"request": new.request_date, **new.events}, STATUS_OPEN),
    }


def _rows(crypto: Crypto, new: NewRequest, row: dict[str, Any], reference: str,
          stored: list[tuple[Any, ...]], now: dt.datetime
          ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The request's row, its events, documents and audit entry (without `request_id`)."""
    request = {**row, "reference": reference,
               "id_last4_hash": crypto.lookup_hash(ID_LAST4_PURPOSE,
                                                   reference + new.id_number[-4:])}
    source = {"source": "online_form" if new.channel == CHANNEL_ONLINE else new.channel}
    events = [{"event_id": event_id, "event_date": day, "recorded_by": new.recorded_by,
               "recorded_at": now, "details": source}
              for event_id, day in [("request", new.request_date), *new.events.items()]]
    names = list(new.file_names) + [None] * (len(stored) - len(new.file_names))
    documents = [{"document_type": doc_type, "stored_name": stored_file.stored_name,
                  "extension": ext, "size": len(data),
                  "sha256": hashlib.sha256(data).hexdigest(), "mime": mime, "created_at": now,
                  "display_name": display_name(names[i])}
                 for i, (doc_type, stored_file, data, ext, mime) in enumerate(stored)]
    audit = {"at": now, "actor": new.recorded_by, "action": "request_created",
             "details": {"reference": reference, "service_id": new.service_id,
                         "use_id": new.use_id, "documents": len(stored)}}
    return request, events, documents, audit


def _insert(conn: Connection, crypto: Crypto, new: NewRequest, row: dict[str, Any],
            reference: str, stored: list[tuple[Any, ...]], now: dt.datetime) -> None:
    """The request's rows, in the caller's write transaction."""
    request, events, documents, audit = _rows(crypto, new, row, reference, stored, now)
    request_id = conn.execute(_INSERT_REQUEST, request).inserted_primary_key[0]
    conn.execute(_INSERT_EVENT, [{**e, "request_id": request_id} for e in events])
    if documents:
        conn.execute(_INSERT_DOCUMENT, [{**d, "request_id": request_id} for d in documents])
    conn.execute(_INSERT_AUDIT, {**audit, "request_id": request_id})
    # the applicant's "received" message, in the same transaction: it exists exactly when
    # the request does (a duplicate submission never gets here, so never a second message)
    queue_submission_message(
        conn, request_id=request_id, reference=reference, request_row=request,
        snapshot=new.service_snapshot, promises=new.initial_promises,
        recorded={"request", *new.events}, now=now,
        status_link=new.status_link.issue(conn, request_id, now) if new.status_link else None)


@dataclass(frozen=True)
class RequestSummary:
    """What the applicant's own pages (confirmation, status, calendar file) show of a request:
    masked data, its events and its parsed snapshot. Read with one Core statement, no ORM
    objects: these pages are the busiest reads (the staff console uses `ServiceRequest`)."""

    reference: str
    service_id: str
    use_id: str
    status: str
    insured_name: str
    id_number_masked: str
    phone_masked: str
    id_last4_hash: str
    created_at: dt.datetime
    events: tuple[tuple[str, dt.date], ...]  # (event id, date), by date then as recorded
    snapshot: Snapshot
    # each event's details (hospital, time, sample, reason...), in the order of `events`
    event_details: tuple[dict[str, Any], ...] = ()

    def event_dates(self) -> dict[str, dt.date]:
        """Latest date of each event recorded so far (the input of the promise engine)."""
        dates: dict[str, dt.date] = {}
        for event_id, day in self.events:
            if event_id not in dates or day > dates[event_id]:
                dates[event_id] = day
        return dates

    @property
    def request_date(self) -> dt.date:
        """The date (Asia/Shanghai) of the `request` event (the UTC creation date if none)."""
        return min((day for event_id, day in self.events if event_id == "request"),
                   default=self.created_at.date())


_SUMMARY_COLUMNS = (_REQUESTS.c.reference, _REQUESTS.c.service_id, _REQUESTS.c.use_id,
                    _REQUESTS.c.status, _REQUESTS.c.insured_name, _REQUESTS.c.id_number_masked,
                    _REQUESTS.c.phone_masked, _REQUESTS.c.id_last4_hash, _REQUESTS.c.created_at)
# the request and its events in one statement (one row per event; a round trip less on
# PostgreSQL than reading them apart)
_SUMMARY = (
    select(*_SUMMARY_COLUMNS, _REQUESTS.c.snapshot_id, _EVENTS.c.event_id, _EVENTS.c.event_date,
           _EVENTS.c.details)
    # an undone event (migration 0010) is not the applicant's to see: left out by the join
    .select_from(_REQUESTS.outerjoin(_EVENTS, (_EVENTS.c.request_id == _REQUESTS.c.id)
                                     & _EVENTS.c.undone_at.is_(None)))
    .where(_REQUESTS.c.reference == bindparam("reference"))
    .order_by(_EVENTS.c.event_date, _EVENTS.c.id))
_SNAPSHOT_DATA = select(_SNAPSHOTS.c.snapshot).where(_SNAPSHOTS.c.id == bindparam("id"))
SNAPSHOT_CACHE_SIZE = 256
# service_snapshot.id -> parsed snapshot, per Database (stored snapshots never change)
_parsed_snapshots: weakref.WeakKeyDictionary[Database, dict[int, Snapshot]] = \
    weakref.WeakKeyDictionary()


def parsed_snapshot(db: Database, conn: Connection, snapshot_id: int) -> Snapshot:
    """The stored snapshot `snapshot_id`, parsed once per process."""
    cache = _parsed_snapshots.setdefault(db, {})
    found = cache.get(snapshot_id)
    if found is None:
        data = conn.scalar(_SNAPSHOT_DATA, {"id": snapshot_id})
        if data is None:
            raise LookupError(f"service snapshot {snapshot_id} is missing")
        if len(cache) >= SNAPSHOT_CACHE_SIZE:
            cache.clear()
        found = cache[snapshot_id] = Snapshot.parse(data)
    return found


def load_summary(db: Database, reference: str) -> RequestSummary | None:
    """The request with this reference, for the applicant's pages; None if there is none."""
    with db.read_connection() as conn:
        rows = conn.execute(_SUMMARY, {"reference": reference}).all()
        if not rows:
            return None
        first = rows[0]
        snapshot = parsed_snapshot(db, conn, first.snapshot_id)
    recorded = [r for r in rows if r.event_id is not None]
    return RequestSummary(*first[:len(_SUMMARY_COLUMNS)],
                          events=tuple((r.event_id, r.event_date) for r in recorded),
                          snapshot=snapshot,
                          event_details=tuple(dict(r.details or {}) for r in recorded))


def summary_of(req: ServiceRequest) -> RequestSummary:
    """The same summary from an ORM request (staff pages, tests)."""
    return RequestSummary(
        req.reference, req.service_id, req.use_id, req.status, req.insured_name,
        req.id_number_masked, req.phone_masked, req.id_last4_hash, req.created_at,
        tuple((e.event_id, e.event_date) for e in req.events),
        Snapshot.parse(req.service_snapshot),
        tuple(dict(e.details or {}) for e in req.events))


def check_status_pair(db: Database, crypto: Crypto, reference: str, last4: str
                      ) -> RequestSummary | None:
    """The request if `reference` exists and `last4` matches its ID number; None otherwise.
    Does the same work whether or not the reference exists."""
    req = load_summary(db, reference) if reference else None
    expected = req.id_last4_hash if req is not None else "0" * 64
    ok = crypto.matches(ID_LAST4_PURPOSE, reference + last4.upper(), expected)
    return req if (req is not None and ok) else None
