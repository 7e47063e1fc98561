"""Documents an applicant sends after submitting (staff asked for them): stored encrypted like
the form's own uploads, in one transaction with the event that records them and its audit entry,
so staff see each new document with its time."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from service_rules.workcalendar import WorkCalendar
from service_rules.workflow import BY_APPLICANT, CLOSED_STATUSES

from .audit import audit
from .crypto import Crypto
from .database import Database
from .files import fsync_dir, store
from .models import RequestDocument, RequestEvent, ServiceRequest, utcnow
from .queue_order import refresh_due_state
from .requests import display_name


class RequestClosedForDocuments(Exception):
    """The request has ended: nothing more is collected for it."""


def add_documents(db: Database, crypto: Crypto, upload_dir: Path, reference: str,
                  files: list[tuple[str, bytes, str, str]], today: object,
                  *, calendar: WorkCalendar,
                  names: list[str | None] | None = None) -> int:
    """Store (document type, data, ext, mime) files for the request; returns how many.
    `names`: the name the applicant gave each file (same order), kept sanitised to show back
    to them. Files are written and fsynced first and removed again if the transaction does not
    commit."""
    given = list(names or []) + [None] * (len(files) - len(names or []))
    stored = [(doc_type, store(upload_dir, crypto, data), data, ext, mime)
              for doc_type, data, ext, mime in files]
    if stored:
        fsync_dir(upload_dir)
    try:
        with db.write_session() as s:
            req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
            if req is None:
                raise LookupError(reference)
            if req.status in CLOSED_STATUSES:
                raise RequestClosedForDocuments(reference)
            now = utcnow()
            for (doc_type, stored_file, data, ext, mime), name in zip(stored, given,
                                                                     strict=False):
                s.add(RequestDocument(request_id=req.id, document_type=doc_type,
                                      stored_name=stored_file.stored_name, extension=ext,
                                      size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                      mime=mime, created_at=now,
                                      display_name=display_name(name)))
            s.add(RequestEvent(request_id=req.id, event_id="documents_received",
                               event_date=today, recorded_by=BY_APPLICANT, recorded_at=now,
                               details={"documents": len(stored),
                                        "types": sorted({d for d, *_ in stored})}))
            # no promise starts or ends with the applicant's upload today, but the content may
            # make it one
            refresh_due_state(calendar, req)
            audit(s, BY_APPLICANT, "documents_added", req, documents=len(stored))
    except BaseException:
        for item in stored:
            item[1].path.unlink(missing_ok=True)
        raise
    return len(stored)
