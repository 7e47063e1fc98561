"""Deadline engine: promised dates over real holiday periods, time zones, the inpatient rule,
direct billing, provisional years, and properties that must hold for every date.

Every expected date is counted by hand from the State Council notices: the day of the event
does not count; weekends and holidays are skipped; make-up Saturdays and Sundays count."""

from __future__ import annotations

import datetime as dt
import time

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_rules.deadlines import (
    SHANGHAI,
    add_working_days,
    check_admission_date,
    earliest_admission,
    promise_due,
    shanghai_date,
    shanghai_today,
)

D = dt.date.fromisoformat
UTC = dt.UTC

CASES = [
    # (start, working days, expected, why)
    ("2026-09-29", 5, "2026-10-12", "国庆 2026: Sep 30, Oct 8, 9, Sat 10 (make-up), Mon 12"),
    ("2026-09-30", 3, "2026-10-10", "direct-billing reply lands on the make-up Saturday"),
    ("2026-09-18", 15, "2026-10-15", "make-up Sun 20 Sep, 中秋 Fri 25 Sep, 国庆 1-7 Oct"),
    ("2026-02-13", 5, "2026-02-27", "春节 2026: make-up Sat 14 Feb, off 15-23 Feb"),
    ("2026-02-13", 10, "2026-03-05", "春节 2026: second make-up Sat 28 Feb counts"),
    ("2025-01-24", 5, "2025-02-07", "春节 2025: make-up Sun 26 Jan, off 28 Jan-4 Feb"),
    ("2025-09-26", 5, "2025-10-10", "国庆/中秋 2025: make-up Sun 28 Sep, off 1-8 Oct"),
    ("2025-09-26", 15, "2025-10-23", "国庆/中秋 2025: make-up Sat 11 Oct counts"),
    ("2024-02-08", 5, "2024-02-21", "春节 2024: 除夕 Fri 9 Feb worked, make-up Sun 18 Feb"),
    ("2024-09-27", 5, "2024-10-10", "国庆 2024: make-up Sun 29 Sep, off 1-7 Oct"),
    ("2024-09-27", 10, "2024-10-16", "国庆 2024: make-up Sat 12 Oct counts"),
    ("2024-04-26", 10, "2024-05-13", "劳动节 2024: make-up Sun 28 Apr and Sat 11 May"),
    # year ends
    ("2024-12-27", 3, "2025-01-02", "元旦 2025: one day, Wed 1 Jan"),
    ("2025-12-29", 5, "2026-01-06", "元旦 2026: off 1-3 Jan, make-up Sun 4 Jan"),
    ("2023-12-29", 1, "2024-01-02", "元旦 2024: Sat 30 Dec to Mon 1 Jan off"),
    # requests made on a weekend, a holiday and a make-up working day
    ("2024-06-08", 5, "2024-06-17", "Saturday request; 端午 Mon 10 Jun off"),
    ("2025-01-29", 5, "2025-02-10", "request on 春节 2025 holiday; make-up Sat 8 Feb counts"),
    ("2025-01-26", 5, "2025-02-08", "request on the make-up Sunday: that day does not count"),
    ("2026-10-10", 1, "2026-10-12", "request on the make-up Saturday: Mon 12 Oct is day 1"),
]


@pytest.mark.parametrize(("start", "n", "expected", "why"), CASES,
                         ids=[f"{c[0]}+{c[1]}" for c in CASES])
def test_real_periods(cal, start, n, expected, why):
    deadline = add_working_days(cal, D(start), n)
    assert deadline.date == D(expected), why
    assert deadline.start == D(start) and deadline.working_days == n
    assert not deadline.provisional
    assert "起算当天不计入" in deadline.rule


@pytest.mark.parametrize(("start", "n", "expected", "why"), CASES,
                         ids=[f"{c[0]}+{c[1]}" for c in CASES])
def test_real_periods_against_chinesecalendar(start, n, expected, why):
    """The same table through chinese_calendar.find_workday, adjusted for its rest-day rule."""
    day = D(start)
    found = chinese_calendar.find_workday(n if chinese_calendar.is_workday(day) else n - 1, day)
    assert found == D(expected), why


def test_deadline_records_the_years_it_used(cal):
    deadline = add_working_days(cal, D("2025-12-29"), 5)
    assert deadline.years == (2025, 2026)
    assert deadline.provisional_years == ()
    assert deadline.as_dict()["date"] == "2026-01-06"
    assert deadline.as_dict()["provisional"] is False


# -- provisional years ------------------------------------------------------------------------

def test_dates_in_2027_are_provisional(cal):
    deadline = add_working_days(cal, D("2027-03-01"), 5)
    assert deadline.date == D("2027-03-08")
    assert deadline.provisional and deadline.provisional_years == (2027,)
    assert any("暂定" in note and "2027" in note for note in deadline.notes())


def test_a_result_crossing_into_2027_is_provisional(cal):
    # Wed 30 Dec 2026: Thu 31 Dec, then 元旦 Fri 1 Jan 2027 by the statutory rule, Mon 4 ... Thu 7
    deadline = add_working_days(cal, D("2026-12-30"), 5)
    assert deadline.date == D("2027-01-07")
    assert deadline.years == (2026, 2027) and deadline.provisional_years == (2027,)


def test_spring_festival_2027_by_the_statutory_rule(cal):
    # 除夕 Fri 5 Feb 2027 to 初三 Mon 8 Feb: Thu 4 Feb + 1 is Tue 9 Feb, and it says so
    deadline = add_working_days(cal, D("2027-02-04"), 1)
    assert (deadline.date, deadline.provisional) == (D("2027-02-09"), True)


def test_late_december_depends_on_next_years_arrangement(cal):
    # New Year arrangements reached back into December (2007-12-29 worked, 2007-12-31 off),
    # so a promise for the last days of 2026 is marked provisional until 2027 is published
    late = add_working_days(cal, D("2026-12-24"), 2)
    assert late.date == D("2026-12-28")
    assert late.provisional_years == (2027,)
    early = add_working_days(cal, D("2026-12-01"), 5)
    assert early.date == D("2026-12-08") and not early.provisional


def test_late_december_of_an_official_pair_of_years_is_official(cal):
    deadline = add_working_days(cal, D("2025-12-24"), 2)
    assert deadline.date == D("2025-12-26")
    assert deadline.years == (2025, 2026) and not deadline.provisional


# -- time zones --------------------------------------------------------------------------------

@pytest.fixture
def los_angeles(monkeypatch):
    """Run a test with the process in America/Los_Angeles, then restore the zone."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


TZ_CASES = [
    # (instant, Beijing date)
    (dt.datetime(2026, 9, 29, 15, 30, tzinfo=UTC), "2026-09-29"),  # 23:30 in Beijing
    (dt.datetime(2026, 9, 29, 15, 59, 59, tzinfo=UTC), "2026-09-29"),
    (dt.datetime(2026, 9, 29, 16, 0, tzinfo=UTC), "2026-09-30"),  # midnight in Beijing
    (dt.datetime(2026, 9, 29, 16, 30, tzinfo=UTC), "2026-09-30"),  # 00:30 next day
    (dt.datetime(2026, 9, 29, 23, 30, tzinfo=SHANGHAI), "2026-09-29"),
    (dt.datetime(2026, 9, 29, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7))), "2026-09-30"),
    (dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "2027-01-01"),
    # naive datetimes are read as UTC, never as the server's local time
    (dt.datetime(2026, 9, 29, 15, 30), "2026-09-29"),
    (dt.datetime(2026, 9, 29, 16, 30), "2026-09-30"),
]


@pytest.mark.parametrize(("instant", "expected"), TZ_CASES)
def test_beijing_date_of_an_instant(instant, expected):
    assert shanghai_date(instant) == D(expected)
    assert shanghai_today(instant) == D(expected)


@pytest.mark.parametrize(("instant", "expected"), TZ_CASES)
def test_server_zone_does_not_matter(los_angeles, instant, expected):
    assert time.strftime("%Z") in ("PST", "PDT")
    assert shanghai_date(instant) == D(expected)


def test_request_at_half_past_midnight_in_beijing_counts_from_that_day(cal, los_angeles):
    late = add_working_days(cal, shanghai_date(dt.datetime(2026, 9, 29, 15, 30, tzinfo=UTC)), 5)
    after = add_working_days(cal, shanghai_date(dt.datetime(2026, 9, 29, 16, 30, tzinfo=UTC)), 5)
    assert late.date == D("2026-10-12")
    assert after.date == D("2026-10-13")  # from Wed 30 Sep: Oct 8, 9, 10, 12, 13


def test_today_is_the_beijing_date_in_any_server_zone(los_angeles):
    for _ in range(3):  # retry if the clock crosses midnight between the two readings
        expected = dt.datetime.now(SHANGHAI).date()
        if shanghai_today() == expected:
            break
    assert shanghai_today() == dt.datetime.now(SHANGHAI).date()


# -- promises from content: inpatient rule, direct billing ---------------------------------------

def _promise(rules, service_id, promise_id):
    return rules.content.service(service_id).promise(promise_id)


def test_inpatient_counts_from_the_admission_slip_when_it_is_later(rules, cal):
    promise = _promise(rules, "green_channel", "inpatient_arranged")
    events = {"request": D("2026-09-10"), "admission_slip_issued": D("2026-09-18")}
    deadline = promise_due(cal, rules.content, promise, events)
    # from Fri 18 Sep: Sun 20 (make-up), 21-24, 28-30, Oct 8, Oct 9
    assert deadline is not None and deadline.date == D("2026-10-09")
    assert deadline.start == D("2026-09-18")
    assert "较晚" in deadline.rule and "2026-09-18" in deadline.rule


def test_inpatient_counts_from_the_request_when_the_slip_came_first(rules, cal):
    promise = _promise(rules, "green_channel", "inpatient_arranged")
    events = {"request": D("2026-09-18"), "admission_slip_issued": D("2026-08-01")}
    deadline = promise_due(cal, rules.content, promise, events)
    assert deadline is not None and deadline.date == D("2026-10-09")
    assert deadline.start == D("2026-09-18")


def test_inpatient_has_no_date_until_the_slip_is_issued(rules, cal):
    promise = _promise(rules, "green_channel", "inpatient_arranged")
    assert promise_due(cal, rules.content, promise, {"request": D("2026-09-18")}) is None


def test_outpatient_counts_from_the_request(rules, cal):
    promise = _promise(rules, "green_channel", "outpatient_arranged")
    deadline = promise_due(cal, rules.content, promise, {"request": D("2026-09-29")})
    assert deadline is not None and deadline.date == D("2026-10-12")
    assert "安排门诊" in deadline.rule


def test_direct_billing_reply_within_three_working_days(rules, cal):
    promise = _promise(rules, "direct_billing", "billing_reply")
    assert promise.working_days == 3
    deadline = promise_due(cal, rules.content, promise, {"request": D("2026-09-30")})
    assert deadline is not None and deadline.date == D("2026-10-10")  # Oct 8, 9, Sat 10


def test_direct_billing_earliest_admission(rules, cal):
    booking = rules.content.service("direct_billing").advance_booking
    assert booking is not None and booking.working_days == 5
    earliest = earliest_admission(cal, D("2026-09-29"), booking)
    assert earliest.date == D("2026-10-12")
    assert not earliest.provisional
    # booked on a Saturday before 春节 2026: Sat 14 Feb (make-up) does not count, it is today
    assert earliest_admission(cal, D("2026-02-14"), booking).date == D("2026-02-28")


@pytest.mark.parametrize(("requested", "ok"), [
    ("2026-10-09", False),  # 3rd working day
    ("2026-10-10", False),  # 4th (make-up Saturday)
    ("2026-10-11", False),  # Sunday: still only 4 working days ahead
    ("2026-10-12", True),  # 5th working day
    ("2026-10-17", True),  # a later Saturday: admissions may fall on any day
    ("2026-09-28", False),  # in the past
])
def test_direct_billing_check_of_a_requested_date(rules, cal, requested, ok):
    booking = rules.content.service("direct_billing").advance_booking
    result = check_admission_date(cal, D("2026-09-29"), D(requested), booking)
    assert result.ok is ok
    assert result.earliest.date == D("2026-10-12")
    if not ok:
        assert "2026-10-12" in result.message and "5 个工作日" in result.message


# -- properties --------------------------------------------------------------------------------

official_days = st.dates(dt.date(2004, 1, 1), dt.date(2026, 10, 31))
any_days = st.dates(dt.date(2004, 1, 1), dt.date(2034, 12, 31))
counts = st.integers(1, 60)


@given(start=any_days, n=counts)
@settings(max_examples=500, deadline=None)
def test_result_is_a_working_day_exactly_n_after(cal, start, n):
    end = cal.add_workdays(start, n)
    assert end > start
    assert cal.is_workday(end)
    assert cal.workdays_between(start, end) == n
    assert cal.workdays_between(end, start) == -n
    # nothing earlier would do: one day before, fewer than n working days have passed
    assert cal.workdays_between(start, end - dt.timedelta(days=1)) == n - 1


@given(a=any_days, b=any_days, n=counts)
@settings(max_examples=500, deadline=None)
def test_later_start_never_gives_an_earlier_promise(cal, a, b, n):
    a, b = sorted((a, b))
    assert cal.add_workdays(a, n) <= cal.add_workdays(b, n)


@given(start=any_days, m=counts, n=counts)
@settings(max_examples=500, deadline=None)
def test_more_days_never_give_an_earlier_promise(cal, start, m, n):
    m, n = sorted((m, n))
    assert cal.add_workdays(start, m) <= cal.add_workdays(start, n)
    if m < n:
        assert cal.add_workdays(start, m) < cal.add_workdays(start, n)


@given(start=official_days, n=st.integers(1, 30))
@settings(max_examples=500, deadline=None)
def test_agrees_with_a_day_by_day_count_over_chinesecalendar(cal, start, n):
    """Independent oracle: walk forward day by day with chinese_calendar.is_workday."""
    day, left = start, n
    while left:
        day += dt.timedelta(days=1)
        left -= chinese_calendar.is_workday(day)
    assert cal.add_workdays(start, n) == day
