"""Staff's internal notes on a request: who wrote what, when. Applicants never see them on
their pages, in messages or through the API; the text may hold health data, so it is stored
encrypted (Fernet, `DATA_KEY`) and deleted with the request's personal data. The audit entry
of a note holds its length, never its text.

The applicant's copy of their data (`datacopy.py`) does include the notes: the privacy notice
promises "我们保存的关于这个申请的全部信息", and notes about a person are their personal
information (PIPL art. 45). Staff are told so at the note field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .audit import audit
from .crypto import Crypto
from .database import Database
from .models import CaseworkNote, ServiceRequest, utcnow

NOTE_MAX = 2000


class NotesClosed(Exception):
    """The request's personal data was deleted: no new personal data is written to it."""


@dataclass(frozen=True)
class Note:
    note_id: int
    author: str
    created_at: dt.datetime
    text: str


def add_note(db: Database, crypto: Crypto, reference: str, author: str, text: str) -> int:
    """Store a note on the request (encrypted) with its audit entry; returns its id. Raises
    LookupError (no such request) or NotesClosed."""
    with db.write_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        if req is None:
            raise LookupError(reference)
        if req.personal_data_deleted_at is not None:
            raise NotesClosed(reference)
        note = CaseworkNote(request_id=req.id, author=author, created_at=utcnow(),
                            text_enc=crypto.encrypt_text(text))
        s.add(note)
        s.flush()
        audit(s, author, "note_added", req, note_id=note.id, length=len(text))
        return note.id


def notes_for(db: Database, crypto: Crypto, request_id: int) -> list[Note]:
    """The request's notes, oldest first, decrypted."""
    with db.read_session() as s:
        rows = s.scalars(select(CaseworkNote).where(CaseworkNote.request_id == request_id)
                         .order_by(CaseworkNote.created_at, CaseworkNote.id))
        return [Note(n.id, n.author, n.created_at, crypto.decrypt_text(n.text_enc))
                for n in rows]


def delete_notes(session: Session, request_id: int) -> int:
    """Delete every note of the request in the caller's transaction (the deletion job);
    returns how many."""
    result = session.execute(delete(CaseworkNote).where(CaseworkNote.request_id == request_id))
    return int(result.rowcount or 0)
