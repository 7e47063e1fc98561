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

from sqlalchemy import func, select, true, union_all
from sqlalchemy.orm import defer, lazyload, selectinload

from service_rules.promises import Snapshot
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
from .requests import parsed_snapshot

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
    on track or without a clock (`service_rules.queue_order.urgency_bounds`): one count per
    range of the due date, in one statement. Each is a range of the index (status, next_due):
    measured at 50,000 open requests, four times faster on SQLite than one pass adding up
    CASE expressions (and as fast on PostgreSQL)."""
    today, soon_end = bounds
    # each status named, even for "all": equality on the index's first column, then a range
    statuses = list(filters.statuses or STATUSES)
    running = [s for s in statuses if s not in CLOSED_STATUSES]
    ended = [s for s in statuses if s in CLOSED_STATUSES]  # nothing falls due on these
    ranges = {NO_CLOCK: R.next_due.is_(None), OVERDUE: R.next_due < today,
              DUE_SOON: (R.next_due >= today) & (R.next_due < soon_end),
              ON_TRACK: R.next_due >= soon_end}
    parts = ([(NO_CLOCK, ended, true())] if ended else []) + \
        ([(key, running, cond) for key, cond in ranges.items()] if running else [])
    found = dict.fromkeys(ranges, 0)
    if parts:
        query = select(*[select(func.count()).select_from(R).where(
            *filters.conditions(), R.status.in_(among), cond).scalar_subquery()
            for _key, among, cond in parts])
        with db.read_connection() as conn:
            for (key, _among, _cond), n in zip(parts, conn.execute(query).one(), strict=True):
                found[key] += int(n or 0)
    return QueueCounts(sum(found.values()), found)


def page_count(total: int, per_page: int = PAGE_SIZE) -> int:
    return max(1, -(-total // per_page))


def _ordered_ids(statuses: Sequence[str], conditions: list[Any], offset: int, limit: int, *,
                 with_due_only: bool = False) -> Any:
    """The ids of one page in queue order, as a statement: one ordered, limited read per status
    and per "due date or none", merged. Each part also orders by next_due (all NULL in the
    second), so both follow the index (status, next_due, created_at, id) and stop early:
    PostgreSQL does not take `next_due IS NULL` as pinning the index's next column."""
    enough = offset + limit
    parts = []
    for status in statuses:
        base = select(R.id, R.next_due, R.created_at).where(R.status == status, *conditions)
        if status in CLOSED_STATUSES:  # nothing falls due on these: one part, as they came in
            if not with_due_only:
                parts.append(base.order_by(R.next_due, R.created_at, R.id).limit(enough))
            continue
        parts.append(base.where(R.next_due.is_not(None))
                     .order_by(R.next_due, R.created_at, R.id).limit(enough))
        if not with_due_only:
            parts.append(base.where(R.next_due.is_(None))
                         .order_by(R.next_due, R.created_at, R.id).limit(enough))
    # each part is limited inside its own sub-select (SQLite allows LIMIT only there)
    union = union_all(*[select(*p.subquery().c) for p in parts]).subquery()
    return (select(union.c.id)
            .order_by(union.c.next_due.asc().nulls_last(), union.c.created_at, union.c.id)
            .limit(limit).offset(offset))


def _load(s: Any, ids: list[int]) -> list[ServiceRequest]:
    """The requests with these ids, in this order, with their events (the snapshot they share
    is read by `snapshots`, parsed once per process, not with every row)."""
    if not ids:
        return []
    found = {r.id: r for r in s.scalars(
        select(R).options(selectinload(R.events), lazyload(R.snapshot),
                          defer(R.initial_promises), defer(R.details), defer(R.consent_text))
        .where(R.id.in_(ids)))}
    return [found[i] for i in ids]


def queue_page(db: Database, filters: QueueFilters, page: int, per_page: int = PAGE_SIZE
               ) -> list[ServiceRequest]:
    """Page `page` (from 1) of the matching requests with their events: by next due date,
    requests with no due date last, then by when they came in."""
    ids = _ordered_ids(filters.statuses or STATUSES, filters.conditions(),
                       (page - 1) * per_page, per_page)
    with db.read_session() as s:
        return _load(s, list(s.scalars(ids)))


def due_soon(db: Database, filters: QueueFilters, first: dt.date, last: dt.date,
             limit: int = DUE_LIST_SIZE) -> tuple[list[ServiceRequest], int]:
    """Open requests whose next promise falls due between `first` and `last` (calendar dates),
    earliest first: at most `limit` of them, and how many there are."""
    conditions = [R.next_due >= first, R.next_due <= last, *filters.conditions()]
    ids = _ordered_ids(OPEN_STATUSES, conditions, 0, limit, with_due_only=True)
    with db.read_session() as s:
        rows = _load(s, list(s.scalars(ids)))
        total = s.scalar(select(func.count()).select_from(R).where(
            R.status.in_(list(OPEN_STATUSES)), *conditions)) or 0
    return rows, int(total)


def snapshots(db: Database, requests: Sequence[ServiceRequest]) -> dict[int, Snapshot]:
    """The parsed snapshot of each request's rules, by snapshot id."""
    with db.read_connection() as conn:
        return {sid: parsed_snapshot(db, conn, sid) for sid in {r.snapshot_id for r in requests}}
