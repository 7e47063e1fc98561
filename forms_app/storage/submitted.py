"""What the applicant submitted, as their own confirmation and status pages show it back:
city, hospital, the form's service answers (dates given, sample type) and the files sent with
the name each had (kept sanitised in `request_document.display_name`). Never the ID number or
phones: those pages show the masked forms from `RequestSummary`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from .database import Database
from .models import RequestDocument, ServiceRequest

_REQUESTS = ServiceRequest.__table__
_DOCUMENTS = RequestDocument.__table__


@dataclass(frozen=True)
class SubmittedFile:
    document_type: str
    display_name: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Submitted:
    city_id: str | None
    hospital_id: str | None
    details: dict[str, Any]
    files: tuple[SubmittedFile, ...]


_ANSWERS = select(_REQUESTS.c.id, _REQUESTS.c.city_id, _REQUESTS.c.hospital_id,
                  _REQUESTS.c.details).where(_REQUESTS.c.reference == bindparam("reference"))
_FILES = (select(_DOCUMENTS.c.document_type, _DOCUMENTS.c.display_name,
                 _DOCUMENTS.c.created_at)
          .where(_DOCUMENTS.c.request_id == bindparam("request_id"))
          .order_by(_DOCUMENTS.c.created_at, _DOCUMENTS.c.id))


def submitted_data(db: Database, reference: str) -> Submitted | None:
    """The request's answers and files; None if there is no such request."""
    with db.read_connection() as conn:
        row = conn.execute(_ANSWERS, {"reference": reference}).first()
        if row is None:
            return None
        files = conn.execute(_FILES, {"request_id": row.id}).all()
    return Submitted(row.city_id, row.hospital_id, dict(row.details or {}),
                     tuple(SubmittedFile(*f) for f in files))
