"""Deleting the personal data of requests whose retention has run out, or that were withdrawn
(after the grace period): `apply_retention`, run by `flask --app forms_app apply-retention`
(`--loop` as a scheduled worker). When a request is due is a pure rule
(`service_rules.retention.deletion_due`); this module finds the due ones and deletes.

What goes: the names, ID number (encrypted, masked and its lookup hashes), phones, policy
number and dates, diagnosis date, the form's answers and the hospital, the uploaded files
(their rows, and the files themselves overwritten and unlinked), every outbox message, the
free text of events (notes, reasons, messages, why one was undone), staff's internal notes on
the request (`notes.py`) and whatever audit entries held beyond
references, dates and statuses (masked numbers, event details). What stays, anonymous, for
reports: the reference, service and use, city, status, event ids and dates, the promised dates
shown at submission, the content version and rules the request was made under, the consent
and notice versions, and the staff usernames that recorded events. The audit log gets one
`personal_data_deleted` entry per request, without personal data.

Deleted means gone from the files too: SQLite connections run with `secure_delete=ON`
(database.py), so freed cells and pages are zeroed, and after deleting the WAL is checkpointed
and truncated; uploads are overwritten with zeros, fsynced and unlinked (on a copy-on-write or
flash filesystem an overwrite may land elsewhere: the files were AES-256-GCM encrypted at rest
in any case). PostgreSQL: rows are updated and deleted in the same way; the old row versions
are reclaimed by (auto)vacuum, and backups age out as the README says.

Safe on several hosts at once: each request is deleted in a transaction of its own that first
locks its row (PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED`: a row another host is deleting
is skipped, not waited for; SQLite `BEGIN IMMEDIATE`: one writer at a time) and checks again
that its data is still there and due, so a request is deleted once and audited once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import lazyload

from service_rules.deadlines import shanghai_date
from service_rules.models import Retention
from service_rules.retention import DeletionDue, deletion_due, is_due
from service_rules.workflow import CLOSED_STATUSES

from .audit import audit
from .database import Database
from .files import fsync_dir
from .models import AuditLog, Outbox, RequestDocument, RequestEvent, ServiceRequest, utcnow
from .notes import delete_notes
from .status_links import revoke_links

log = logging.getLogger(__name__)

RETENTION_ACTOR = "retention"
# event details that carry no personal data and that reports or the flow read
KEPT_EVENT_DETAILS = frozenset({"counts_as_used", "source", "kind"})
# audit details that carry no personal data (references, ids, dates, statuses, counts)
KEPT_AUDIT_DETAILS = frozenset({
    "reference", "service_id", "use_id", "documents", "event_id", "event_date",
    "status_before", "status_after", "promises_before", "promises_after", "field",
    "document_id", "document_type", "messages_cancelled", "report", "reason", "files",
    "messages", "events", "personal_data_redacted",
})


@dataclass
class RetentionReport:
    examined: int = 0
    deleted: list[str] = field(default_factory=list)   # references
    skipped: int = 0          # locked or already done by another host
    files_removed: int = 0
    wal_truncated: bool | None = None  # SQLite: whether the WAL was checkpointed to empty

    def line(self) -> str:
        wal = "" if self.wal_truncated is None else \
            f", WAL {'truncated' if self.wal_truncated else 'busy: truncated on the next run'}"
        return (f"examined {self.examined}, deleted {len(self.deleted)}, skipped "
                f"{self.skipped}, files removed {self.files_removed}{wal}")


def _due(settings: Retention, status: str, last_event: dt.date | None,
         withdrawn_at: dt.datetime | None, consent_withdrawn_at: dt.datetime | None
         ) -> DeletionDue | None:
    times = [t for t in (withdrawn_at, consent_withdrawn_at) if t is not None]
    withdrawn_on = shanghai_date(min(times)) if times else None
    return deletion_due(settings, status=status, last_event=last_event, withdrawn_on=withdrawn_on)


# an undone event (migration 0010) is not when the service ended
_LAST_EVENT = (select(func.max(RequestEvent.event_date))
               .where(RequestEvent.request_id == ServiceRequest.id,
                      RequestEvent.undone_at.is_(None))
               .correlate(ServiceRequest).scalar_subquery())


def due_requests(db: Database, settings: Retention, today: dt.date, limit: int = 1000
                 ) -> list[tuple[int, DeletionDue]]:
    """Requests still holding personal data whose deletion is due on or before `today`."""
    query = (select(ServiceRequest.id, ServiceRequest.status, ServiceRequest.withdrawn_at,
                    ServiceRequest.consent_withdrawn_at, _LAST_EVENT.label("last_event"))
             .where(ServiceRequest.personal_data_deleted_at.is_(None),
                    or_(ServiceRequest.status.in_(CLOSED_STATUSES),
                        ServiceRequest.withdrawn_at.is_not(None),
                        ServiceRequest.consent_withdrawn_at.is_not(None)))
             .order_by(ServiceRequest.id))
    found: list[tuple[int, DeletionDue]] = []
    with db.read_session() as s:
        for row in s.execute(query):
            due = _due(settings, row.status, row.last_event, row.withdrawn_at,
                       row.consent_withdrawn_at)
            if due is not None and is_due(due, today):
                found.append((row.id, due))
                if len(found) >= limit:
                    break
    return found


# the request's columns that held personal data, and what they hold once deleted
_ERASED: dict[str, Any] = {
    "insured_name": "", "id_number_enc": "", "id_number_masked": "", "id_hash": "",
    "id_last4_hash": "", "phone_enc": "", "phone_masked": "", "applicant_relation": "",
    "applicant_name": None, "applicant_phone_enc": None, "applicant_phone_masked": None,
    "policy_number": "", "policy_effective": None, "diagnosis_date": None, "hospital_id": None,
    "details": {}, "register_note": None,
    # the search's keyed hashes of name and phones (migration 0009); nothing falls due on a
    # deleted request either (it is closed: storage/queue_order.py)
    "insured_name_hash": None, "phone_hash": None, "applicant_phone_hash": None,
    "next_due": None, "next_due_promise": None,
}


def delete_request_data(db: Database, upload_dir: Path, request_id: int, settings: Retention,
                        today: dt.date, actor: str = RETENTION_ACTOR) -> tuple[str, int] | None:
    """Delete one request's personal data if it is still there and due; returns (reference,
    files removed), or None when another host has it locked, did it already, or it is not due.
    """
    with db.write_session() as s:
        query = (select(ServiceRequest).options(lazyload(ServiceRequest.snapshot))
                 .where(ServiceRequest.id == request_id,
                        ServiceRequest.personal_data_deleted_at.is_(None)))
        if not db.is_sqlite:
            # the request's row only (not the snapshot it shares with other requests)
            query = query.with_for_update(skip_locked=True, of=ServiceRequest)
        req = s.scalar(query)
        if req is None:
            return None
        last_event = s.scalar(select(func.max(RequestEvent.event_date))
                              .where(RequestEvent.request_id == req.id,
                                     RequestEvent.undone_at.is_(None)))
        due = _due(settings, req.status, last_event, req.withdrawn_at, req.consent_withdrawn_at)
        if due is None or not is_due(due, today):
            return None
        names = list(s.scalars(select(RequestDocument.stored_name)
                               .where(RequestDocument.request_id == req.id)))
        s.execute(delete(RequestDocument).where(RequestDocument.request_id == req.id))
        messages = s.execute(delete(Outbox).where(Outbox.request_id == req.id)).rowcount or 0
        # no status link opens a deleted request (a token's hash is no personal data: the
        # rows stay, revoked, so an old link gets "no longer valid" rather than "wrong link")
        revoke_links(s, req.id)
        notes = delete_notes(s, req.id)
        # why an event was undone is free text like a note (who and when stay)
        s.execute(update(RequestEvent).where(RequestEvent.request_id == req.id,
                                             RequestEvent.undo_reason.is_not(None))
                  .values(undo_reason=None))
        events = 0
        for event_id, details in s.execute(select(RequestEvent.id, RequestEvent.details)
                                           .where(RequestEvent.request_id == req.id)).all():
            kept = {k: v for k, v in (details or {}).items() if k in KEPT_EVENT_DETAILS}
            if kept != (details or {}):
                s.execute(update(RequestEvent).where(RequestEvent.id == event_id)
                          .values(details=kept))
            events += 1
        # The audit log is append-only through the ORM; erasing the personal data an entry
        # held (a masked number, an event's free text) is the one change the law requires,
        # made here with a Core UPDATE that keeps every entry, its actor, action and time.
        for audit_id, details in s.execute(select(AuditLog.id, AuditLog.details)
                                           .where(AuditLog.request_id == req.id)).all():
            kept = {k: v for k, v in (details or {}).items() if k in KEPT_AUDIT_DETAILS}
            if kept != (details or {}):
                kept["personal_data_redacted"] = True
                s.execute(update(AuditLog.__table__).where(AuditLog.__table__.c.id == audit_id)
                          .values(details=kept))
        s.execute(update(ServiceRequest.__table__)
                  .where(ServiceRequest.__table__.c.id == req.id)
                  .values(**_ERASED, personal_data_deleted_at=utcnow(),
                          deletion_reason=due.reason))
        audit(s, actor, "personal_data_deleted", req, reason=due.reason, files=len(names),
              messages=int(messages), events=events, notes=notes)
        reference = req.reference
    # after the commit: a failed transaction must not have destroyed the files (a crash here
    # leaves files no request refers to, which sweep-uploads removes)
    removed = shred(upload_dir, names)
    return reference, removed


def shred(upload_dir: Path, names: list[str]) -> int:
    """Overwrite each file with zeros (fsynced), then unlink it; returns how many."""
    removed = 0
    for name in names:
        if not name.isalnum():
            continue
        path = upload_dir / name
        try:
            size = path.stat().st_size
            with open(path, "r+b") as fh:
                fh.write(b"\0" * size)
                fh.flush()
                os.fsync(fh.fileno())
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    if removed:
        fsync_dir(upload_dir)
    return removed


def truncate_wal(db: Database) -> bool | None:
    """SQLite: copy the WAL into the database file and truncate it to nothing, so deleted
    values are not left in old WAL frames. True when done, False when a reader kept it busy
    (done on the next run), None on PostgreSQL."""
    if not db.is_sqlite:
        return None
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        # the driver connection runs in autocommit (database.py): no transaction of our own
        # holds the WAL open while it is checkpointed
        busy, _log, _done = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cur.close()
        return busy == 0
    finally:
        raw.close()


def apply_retention(db: Database, upload_dir: Path, settings: Retention, today: dt.date,
                    actor: str = RETENTION_ACTOR, limit: int = 1000) -> RetentionReport:
    """Delete the personal data of every request due on `today` (at most `limit`)."""
    report = RetentionReport()
    for request_id, _due_on in due_requests(db, settings, today, limit):
        report.examined += 1
        done = delete_request_data(db, upload_dir, request_id, settings, today, actor)
        if done is None:
            report.skipped += 1
            continue
        report.deleted.append(done[0])
        report.files_removed += done[1]
    if report.deleted:
        report.wal_truncated = truncate_wal(db)
    return report
