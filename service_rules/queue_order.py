"""What the staff queue orders, counts and finds requests by. Pure functions (no Flask, no
database): the storage layer stores their results on each request so the queue can be ordered,
counted and paginated in SQL.

- `due_state`: a request's next due date (the earliest promise whose clock runs and that is not
  fulfilled yet) and that promise; empty for a closed request, since nothing falls due then;
- `urgency_bounds` / `urgency_of`: the queue's marks (overdue, due within one working day, on
  track, no clock) as date ranges, so they can be counted with SQL comparisons;
- `search_kind`, `name_key`, `phone_key`: what a staff search typed is, and the normal form
  that is hashed for names and phones.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .deadlines import add_working_days
from .identity import normalise_mobile, normalise_reference
from .promises import compute_promises, snapshot_model
from .workcalendar import CalendarRangeError, WorkCalendar
from .workflow import (
    CLOSED_STATUSES,
    DUE_SOON,
    NO_CLOCK,
    ON_TRACK,
    OVERDUE,
    fulfilling_events,
)


@dataclass(frozen=True)
class DueState:
    """The next date a promise falls due, and which promise; None for both when none runs."""

    next_due: dt.date | None = None
    promise_id: str | None = None


NOTHING_DUE = DueState()


def earliest_open(service_snapshot: Mapping[str, Any], dated: Iterable[tuple[str, dt.date | None]],
                  events: Mapping[str, dt.date], status: str) -> DueState:
    """The earliest (promise id, date) whose promise no recorded event fulfils yet. `dated`
    comes from the promise engine (or from the promises it computed when the request opened).
    The first of equal dates wins, as in `workflow.queue_entry`."""
    if status in CLOSED_STATUSES:
        return NOTHING_DUE
    service = snapshot_model(service_snapshot)
    best = NOTHING_DUE
    for promise_id, due in dated:
        if due is None or any(e in events for e in fulfilling_events(service, promise_id)):
            continue
        if best.next_due is None or due < best.next_due:
            best = DueState(due, promise_id)
    return best


def due_state(cal: WorkCalendar, service_snapshot: Mapping[str, Any], use_id: str,
              events: Mapping[str, dt.date], status: str) -> DueState:
    """The request's next due promise from its events, by the promise engine."""
    if status in CLOSED_STATUSES:
        return NOTHING_DUE
    states = compute_promises(cal, service_snapshot, use_id, events)
    return earliest_open(service_snapshot,
                         ((s.promise_id, s.deadline.date if s.deadline else None)
                          for s in states), events, status)


def urgency_bounds(cal: WorkCalendar, today: dt.date) -> tuple[dt.date, dt.date]:
    """(today, soon_end): a due date before today is overdue, one in [today, soon_end) is due
    within one working day (`workflow.classify_due`), a later one on track. soon_end is the
    second working day after today."""
    try:
        soon_end = add_working_days(cal, today, 2).date
    except CalendarRangeError:
        soon_end = today + dt.timedelta(days=2)  # classify_due counts calendar days then
    return today, soon_end


def urgency_of(next_due: dt.date | None, bounds: tuple[dt.date, dt.date]) -> str:
    if next_due is None:
        return NO_CLOCK
    today, soon_end = bounds
    if next_due < today:
        return OVERDUE
    return DUE_SOON if next_due < soon_end else ON_TRACK


# -- search -----------------------------------------------------------------------------------
SEARCH_REFERENCE = "reference"
SEARCH_PHONE = "phone"
SEARCH_NAME = "name"
_PHONE_LIKE = re.compile(r"^[\d\s\-+()（）０-９＋－]+$")


def name_key(name: str) -> str:
    """A name as it is hashed: full-width forms folded (NFKC) and every space removed, so
    "张 三" and "张三" are found alike."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def phone_key(phone: str) -> str:
    """A phone as it is hashed: digits only (spaces, hyphens and +86 removed)."""
    return normalise_mobile(phone)


def search_kind(typed: str) -> str | None:
    """What staff typed in the one search field: a reference (8 characters of the reference
    alphabet, hyphen and case free), a phone (digits and separators), else a name; None when
    empty."""
    text = typed.strip()
    if not text:
        return None
    if _PHONE_LIKE.match(text) and any(c.isdigit() for c in text):
        return SEARCH_PHONE
    if len(normalise_reference(text)) == 8 and not any("\u4e00" <= c <= "\u9fff" for c in text):
        return SEARCH_REFERENCE
    return SEARCH_NAME
