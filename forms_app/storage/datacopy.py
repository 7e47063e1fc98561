"""A copy of what we hold about one request, for the applicant (PIPL art. 45): every stored
value of the request (encrypted ones decrypted), its events, its documents with their files
(decrypted), the messages queued or sent to the applicant, and the log of what was done with
it (staff named by role only), staff's notes on it and the events undone (marked so).
`request_copy` reads it; the applicant's view packs it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service_rules.workflow import BY_APPLICANT

from .audit import audit
from .crypto import Crypto
from .database import Database
from .files import read
from .models import (
    AuditLog,
    Outbox,
    RequestDocument,
    RequestEvent,
    ServiceRequest,
    StatusLink,
)
from .notes import notes_for

# columns that hold an encrypted value: the copy gives the value itself, under this name
_DECRYPTED = {"id_number_enc": "id_number", "phone_enc": "phone",
              "applicant_phone_enc": "applicant_phone"}
# internal keys and links, not data about the person (the lookup hashes are: they are given)
_LEFT_OUT = frozenset({"id", "snapshot_id", "register_import_id", "submission_token"})


@dataclass(frozen=True)
class CopyFile:
    name: str          # the name in the copy: documents/<type>-<id>.<ext>
    data: bytes


@dataclass(frozen=True)
class DataCopy:
    data: dict[str, Any]      # JSON-ready
    files: list[CopyFile]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def request_copy(db: Database, crypto: Crypto, upload_dir: Path, reference: str
                 ) -> DataCopy | None:
    """Everything stored about the request, or None if there is no such request."""
    with db.read_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        if req is None:
            return None
        table = ServiceRequest.__table__
        stored: dict[str, Any] = {}
        for column in table.columns:
            name = column.key
            if name in _LEFT_OUT:
                continue
            value = getattr(req, name)
            if name in _DECRYPTED:
                stored[_DECRYPTED[name]] = crypto.decrypt_text(value) if value else None
            else:
                stored[name] = _plain(value)
        events = [{"event_id": e.event_id, "event_date": e.event_date.isoformat(),
                   "details": e.details or {}, "recorded_at": e.recorded_at.isoformat(),
                   "recorded_by": "applicant" if e.recorded_by == BY_APPLICANT else "staff",
                   **({"undone_at": e.undone_at.isoformat(), "undo_reason": e.undo_reason}
                      if e.undone_at else {})}
                  for e in s.scalars(select(RequestEvent).where(RequestEvent.request_id == req.id)
                                     .order_by(RequestEvent.event_date, RequestEvent.id))]
        files: list[CopyFile] = []
        documents = []
        for d in s.scalars(select(RequestDocument).where(RequestDocument.request_id == req.id)
                           .order_by(RequestDocument.id)):
            data = read(upload_dir, crypto, d.stored_name)
            name = f"documents/{d.document_type}-{d.id}.{d.extension}"
            files.append(CopyFile(name, data))
            documents.append({"document_type": d.document_type, "file": name, "size": d.size,
                              "sha256": d.sha256, "mime": d.mime,
                              "name_as_chosen": d.display_name,
                              "created_at": d.created_at.isoformat(),
                              "sha256_of_file_in_copy": hashlib.sha256(data).hexdigest()})
        messages = [{"channel": m.channel,
                     "recipient": crypto.decrypt_text(m.recipient_enc) if m.recipient_enc
                     else None,
                     "subject": m.subject, "body": m.body, "created_at": m.created_at.isoformat(),
                     "sent_at": m.sent_at.isoformat() if m.sent_at else None}
                    for m in s.scalars(select(Outbox).where(Outbox.request_id == req.id)
                                       .order_by(Outbox.id))]
        # staff's internal notes are personal information the notice promises in the copy
        # ("全部信息"); their authors by role, like the log below
        notes = [{"at": n.created_at.isoformat(), "by": "staff", "text": n.text}
                 for n in notes_for(db, crypto, req.id)]
        log = [{"at": a.at.isoformat(), "action": a.action,
                "by": "applicant" if a.actor == BY_APPLICANT
                else ("system" if a.actor in ("retention", "cli") else "staff")}
               for a in s.scalars(select(AuditLog).where(AuditLog.request_id == req.id)
                                  .order_by(AuditLog.at, AuditLog.id))]
        # the status links given out: when, until when, whether stopped (a token itself is
        # never stored; its keyed hash opens nothing and is left out)
        links = [{"created_at": k.created_at.isoformat(), "expires_at": k.expires_at.isoformat(),
                  "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                 for k in s.scalars(select(StatusLink).where(StatusLink.request_id == req.id)
                                    .order_by(StatusLink.id))]
        snapshot = {"content_version": req.snapshot.content_version,
                    "service_id": req.snapshot.service_id, "digest": req.snapshot.digest}
    data = {"format": "forms_app.request_copy/1", "request": stored, "events": events,
            "documents": documents, "messages": messages, "notes": notes, "activity": log,
            "status_links": links, "rules": snapshot}
    return DataCopy(data, files)


def record_copy(db: Database, reference: str, files: int) -> None:
    """The audit entry of a copy handed out (no personal data)."""
    with db.write_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        audit(s, BY_APPLICANT, "data_copy_downloaded", req, files=files)
