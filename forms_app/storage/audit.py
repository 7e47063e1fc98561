"""The audit log: who did what to which request, when. Append-only: the ORM refuses to update or
delete an `AuditLog` row. Entries never hold personal data in clear (masked values only).

(Deleting a request still sets `audit_log.request_id` to NULL in the database, by the foreign
key's ON DELETE SET NULL; the entry itself stays.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from .database import Database
from .models import AuditLog, ServiceRequest


class AuditLogIsAppendOnly(RuntimeError):
    pass


def _refuse(_mapper: Any, _connection: Any, target: AuditLog) -> None:
    raise AuditLogIsAppendOnly(f"audit_log row {target.id} may not be changed or deleted")


event.listen(AuditLog, "before_update", _refuse)
event.listen(AuditLog, "before_delete", _refuse)


def audit(session: Session, actor: str, action: str, req: ServiceRequest | None,
          **details: Any) -> None:
    """Append one entry in the caller's write transaction."""
    if req is not None:
        details.setdefault("reference", req.reference)
    session.add(AuditLog(actor=actor, action=action, request_id=req.id if req else None,
                         details=details))


def record(db: Database, actor: str, action: str, req: ServiceRequest | None = None,
           **details: Any) -> None:
    """Append one entry in a transaction of its own."""
    with db.write_session() as session:
        audit(session, actor, action, req, **details)


# staff actions that show a request's personal data (the request page, a full number, a file)
VIEWED = "request_viewed"
ACCESS_ACTIONS = (VIEWED, "personal_data_revealed", "document_downloaded")


def entries_for(db: Database, request_id: int, *, without_views: bool = False
                ) -> list[AuditLog]:
    """A request's audit entries, oldest first; `without_views` leaves out the plain page views
    (`views_of` sums them up), which outnumber everything else on a request handled for weeks."""
    query = select(AuditLog).where(AuditLog.request_id == request_id)
    if without_views:
        query = query.where(AuditLog.action != VIEWED)
    with db.read_session() as session:
        return list(session.scalars(query.order_by(AuditLog.at, AuditLog.id)))


@dataclass(frozen=True)
class PageViews:
    count: int
    last: AuditLog | None


def views_of(db: Database, request_id: int) -> PageViews:
    """How often staff opened a request's page, and the latest time."""
    viewed = (AuditLog.request_id == request_id) & (AuditLog.action == VIEWED)
    with db.read_session() as session:
        count = session.scalar(select(func.count()).select_from(AuditLog).where(viewed)) or 0
        last = session.scalars(select(AuditLog).where(viewed)
                               .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1)).first()
    return PageViews(count, last)


def access_entries(db: Database, *, actor: str | None = None, reference: str | None = None,
                   since: Any = None, until: Any = None, limit: int = 500) -> list[AuditLog]:
    """Who looked at which request's personal data and when, newest first (supervisors'
    page). `since`/`until`: aware datetimes bounding `at`."""
    query = select(AuditLog).where(AuditLog.action.in_(ACCESS_ACTIONS))
    if actor:
        query = query.where(AuditLog.actor == actor)
    if reference:
        query = query.where(AuditLog.request_id == select(ServiceRequest.id)
                            .where(ServiceRequest.reference == reference).scalar_subquery())
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    with db.read_session() as session:
        return list(session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
                                    .limit(limit)))
