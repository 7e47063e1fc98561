"""Assigning a request to a staff member (`service_request.assigned_to`, a username), or
taking the assignment away; audited in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from service_rules.workflow import CLOSED_STATUSES

from .audit import audit
from .database import Database
from .locking import lock_request
from .models import ServiceRequest, StaffUser


class NotAssignable(Exception):
    """The request has ended, or the chosen staff member has no active account."""


def active_usernames(db: Database) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(StaffUser.username).where(StaffUser.active.is_(True))
                              .order_by(StaffUser.username)))


def assign(db: Database, reference: str, assignee: str | None, actor: str) -> tuple[
        str | None, str | None]:
    """Set (or with None clear) who the request is assigned to; returns (before, after).
    Assigning needs an open request and an active account; unassigning is always allowed."""
    with db.write_session() as s:
        req = lock_request(db, s, reference, lazyload(ServiceRequest.snapshot))
        if assignee is not None:
            if req.status in CLOSED_STATUSES:
                raise NotAssignable(reference)
            active = s.scalar(select(StaffUser.id).where(StaffUser.username == assignee,
                                                         StaffUser.active.is_(True)))
            if active is None:
                raise NotAssignable(assignee)
        before = req.assigned_to
        if before == assignee:
            return before, assignee
        req.assigned_to = assignee
        audit(s, actor, "request_assigned" if assignee else "request_unassigned", req,
              assigned_before=before, assigned_to=assignee)
        return before, assignee
