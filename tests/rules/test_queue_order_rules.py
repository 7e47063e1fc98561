"""The queue's pure rules (service_rules/queue_order.py): the urgency as date ranges agrees with
`classify_due` on every day, the stored due date is the queue entry's, and what a search typed
is taken for."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_rules import Rules
from service_rules.promises import snapshot_service
from service_rules.queue_order import (
    SEARCH_NAME,
    SEARCH_PHONE,
    SEARCH_REFERENCE,
    due_state,
    name_key,
    phone_key,
    search_kind,
    urgency_bounds,
    urgency_of,
)
from service_rules.workcalendar import WorkCalendar
from service_rules.workflow import classify_due, promise_outcomes, queue_entry

D = dt.date
DAYS = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 12, 20))


@settings(max_examples=400, deadline=None)
@given(today=DAYS, ahead=st.integers(min_value=-15, max_value=25))
def test_urgency_ranges_agree_with_classify_due(cal: WorkCalendar, today: dt.date,
                                                ahead: int) -> None:
    """Counting in SQL by date ranges marks each request as the engine does, across weekends,
    the Spring Festival and National Day (make-up working days included)."""
    due = today + dt.timedelta(days=ahead)
    assert urgency_of(due, urgency_bounds(cal, today)) == classify_due(cal, today, due)


def test_urgency_bounds_over_the_national_day_holiday(cal: WorkCalendar) -> None:
    # 2026-10-01..07 rest days: on 09-30 the next working day is 10-08, the second 10-09
    assert urgency_bounds(cal, D(2026, 9, 30)) == (D(2026, 9, 30), D(2026, 10, 9))
    assert urgency_of(None, urgency_bounds(cal, D(2026, 9, 30))) == "no_clock"


@pytest.mark.parametrize(("service_id", "use_id", "events"), [
    ("green_channel", "outpatient", {"request": D(2026, 3, 2)}),
    ("green_channel", "inpatient", {"request": D(2026, 3, 2),
                                    "admission_slip_issued": D(2026, 3, 4)}),
    ("second_opinion", "second_opinion", {"request": D(2026, 3, 2)}),
    ("second_opinion", "second_opinion", {"request": D(2026, 3, 2),
                                          "records_complete": D(2026, 3, 3)}),
    ("genetic_testing", "genetic_testing", {"request": D(2026, 3, 2),
                                            "sample_received": D(2026, 3, 5)}),
    ("green_channel", "outpatient", {"request": D(2026, 3, 2),
                                     "appointment_booked": D(2026, 3, 4)}),
])
def test_due_state_is_the_queue_entry(rules: Rules, service_id: str, use_id: str,
                                      events: dict[str, dt.date]) -> None:
    """The stored date is the one the queue showed when it computed every request: the
    earliest promise running and not kept (any `today`: an open request's is fixed)."""
    service = rules.content.service(service_id)
    use = use_id if any(u.id == use_id for u in service.uses) else service.uses[0].id
    snapshot = snapshot_service(rules.content, service_id)
    for today in (D(2026, 3, 3), D(2026, 4, 30)):
        entry = queue_entry(promise_outcomes(rules.calendar, snapshot, use, events, today))
        state = due_state(rules.calendar, snapshot, use, events, "in_progress")
        assert state.next_due == entry.next_due
        assert state.promise_id == (entry.outcome.state.promise_id if entry.outcome else None)
    assert due_state(rules.calendar, snapshot, use, events, "completed").next_due is None


def test_search_keys_and_kinds() -> None:
    assert name_key(" 张 三\u3000") == name_key("张三") == "张三"
    assert name_key("ＺＨＡＮＧ") == "ZHANG"  # full-width letters folded
    assert phone_key("+86 138-0013-8000") == phone_key("13800138000") == "13800138000"
    assert search_kind("  ") is None
    assert search_kind("abcd-2345") == SEARCH_REFERENCE
    assert search_kind("138 0013 8000") == SEARCH_PHONE
    assert search_kind("+86 13800138000") == SEARCH_PHONE
    assert search_kind("张三") == SEARCH_NAME
    assert search_kind("欧阳娜娜") == SEARCH_NAME
