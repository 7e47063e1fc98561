"""The staff queue's reads, in SQL at any size: one page of requests ordered by the stored next
due date (none last, then as they came in), the counts by urgency as aggregates, and what falls
due today and tomorrow. Nothing here loads more rows than it shows.

The page is the union of one ordered, limited read per status (and per "due date or none"):
each walks the index (status, next_due, created_at, id) in order and stops, where a single
`status IN (...)` read would sort every matching row first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import selectinload

from service_rules.workflow import (
    CLOSED_STATUSES,
    DUE_SOON,
    NO_CLOCK,
    ON_TRACK,
    OPEN_STATUSES,
    OVERDUE,
    STATUSES,
)

from .database import Database
from .models import ServiceRequest

R = ServiceRequest
PAGE_SIZE = 50
DUE_LIST_SIZE = 20

ASSIGNED_ANY = ""
ASSIGNED_MINE = "mine"
ASSIGNED_NOBODY = "unassigned"


@dataclass(frozen=True)
class QueueFilters:
    statuses: tuple[str, ...] | None = OPEN_STATUSES   # None: every status
    service_id: str | None = None
    city_id: str | None = None
    assigned: str = ASSIGNED_ANY                        # "", "mine" or "unassigned"
    username: str | None = None                         # whose "mine"

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.service_id:
            found.append(R.service_id == self.service_id)
        if self.city_id:
            found.append(R.city_id == self.city_id)
        if self.assigned == ASSIGNED_MINE:
            found.append(R.assigned_to == (self.username or ""))
        elif self.assigned == ASSIGNED_NOBODY:
            found.append(R.assigned_to.is_(None))
        return found


@dataclass(frozen=True)
class QueueCounts:
    total: int
    by_urgency: dict[str, int]


def queue_counts(db: Database, filters: QueueFilters, bounds: tuple[dt.date, dt.date]
                 ) -> QueueCounts:
    """How many requests match, and how many of them are overdue, due within one working day,
    on track or without a clock (`service_rules.queue_order.urgency_bounds`)."""
    today, soon_end = bounds
    query = select(
        func.count(),
        func.count(R.next_due),
        func.coalesce(func.sum(case((R.next_due < today, 1), else_=0)), 0),
        func.coalesce(func.sum(case(((R.next_due >= today) & (R.next_due < soon_end), 1),
                                    else_=0)), 0),
    ).where(*filters.conditions())
    if filters.statuses is not None:
        query = query.where(R.status.in_(list(filters.statuses)))
    with db.read_connection() as conn:
        total, with_due, overdue, soon = conn.execute(query).one()
    return QueueCounts(int(total), {OVERDUE: int(overdue), DUE_SOON: int(soon),
                                    ON_TRACK: int(with_due) - int(overdue) - int(soon),
                                    NO_CLOCK: int(total) - int(with_due)})


def page_count(total: int, per_page: int = PAGE_SIZE) -> int:
    return max(1, -(-total // per_page))


def queue_page(db: Database, filters: QueueFilters, page: int, per_page: int = PAGE_SIZE
               ) -> list[ServiceRequest]:
    """Page `page` (from 1) of the matching requests with their events: by next due date,
    requests with no due date last, then by when they came in."""
    offset = (page - 1) * per_page
    enough = offset + per_page
    conditions = filters.conditions()
    parts = []
    for status in filters.statuses or STATUSES:
        base = select(R.id, R.next_due, R.created_at).where(R.status == status, *conditions)
        if status not in CLOSED_STATUSES:  # a closed request never has a due date
            parts.append(base.where(R.next_due.is_not(None))
                         .order_by(R.next_due, R.created_at, R.id).limit(enough))
        parts.append(base.where(R.next_due.is_(None))
                     .order_by(R.created_at, R.id).limit(enough))
    # each part is limited inside its own sub-select (SQLite allows LIMIT only there)
    union = union_all(*[select(*p.subquery().c) for p in parts]).subquery()
    ids = select(union.c.id).order_by(union.c.next_due.asc().nulls_last(), union.c.created_at,
                                      union.c.id).limit(per_page).offset(offset)
    with db.read_session() as s:
        wanted = list(s.scalars(ids))
        if not wanted:
            return []
        found = {r.id: r for r in s.scalars(
            select(R).options(selectinload(R.events)).where(R.id.in_(wanted)))}
    return [found[i] for i in wanted]


def due_soon(db: Database, filters: QueueFilters, first: dt.date, last: dt.date,
             limit: int = DUE_LIST_SIZE) -> tuple[list[ServiceRequest], int]:
    """Open requests whose next promise falls due between `first` and `last` (calendar dates),
    earliest first: at most `limit` of them, and how many there are."""
    conditions = [R.status.in_(list(OPEN_STATUSES)), R.next_due >= first, R.next_due <= last,
                  *filters.conditions()]
    with db.read_session() as s:
        rows: Sequence[ServiceRequest] = list(s.scalars(
            select(R).where(*conditions).order_by(R.next_due, R.created_at, R.id)
            .limit(limit)))
        total = s.scalar(select(func.count()).select_from(R).where(*conditions)) or 0
    return list(rows), int(total)
