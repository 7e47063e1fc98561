"""Taking a request's row for a change: the one lock every path that changes a stored request
takes, so that two changes of the same request come one after the other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .database import Database
from .models import ServiceRequest


def lock_request(db: Database, session: Session, reference: str, *options: Any
                 ) -> ServiceRequest:
    """The request, its row locked until the session's transaction ends: one change at a time
    per request (a staff event, an undo, an assignment, a withdrawal). PostgreSQL takes the row
    lock; SQLite's BEGIN IMMEDIATE already serialises writers. `options`: loader options.
    Raises LookupError."""
    query = select(ServiceRequest).options(*options).where(ServiceRequest.reference == reference)
    if not db.is_sqlite:
        query = query.with_for_update(of=ServiceRequest)
    req = session.scalar(query)
    if req is None:
        raise LookupError(reference)
    return req
