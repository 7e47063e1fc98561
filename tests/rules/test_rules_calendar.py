"""The working-day calendar against the State Council notices and an independent source.

Expected days below are copied from the notices (国务院办公厅关于2024/2025/2026年部分节假日安排的
通知), not from the code under test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest

from service_rules import load_rules
from service_rules.deadlines import add_working_days
from service_rules.workcalendar import CalendarRangeError, statutory_holidays

D = dt.date.fromisoformat
TODAY = dt.date(2026, 11, 25)  # before the 2027 notice
ONE = dt.timedelta(days=1)


def days(first: str, last: str) -> list[dt.date]:
    a, b = D(first), D(last)
    return [a + i * ONE for i in range((b - a).days + 1)]


# Weekdays off and weekend days worked, per the notices.
OFFICIAL = {
    2024: {
        "rest": ["2024-01-01", *days("2024-02-12", "2024-02-16"), "2024-04-04", "2024-04-05",
                 *days("2024-05-01", "2024-05-03"), "2024-06-10", "2024-09-16", "2024-09-17",
                 *days("2024-10-01", "2024-10-04"), "2024-10-07"],
        "work": ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11",
                 "2024-09-14", "2024-09-29", "2024-10-12"],
    },
    2025: {
        "rest": ["2025-01-01", *days("2025-01-28", "2025-01-31"), "2025-02-03", "2025-02-04",
                 "2025-04-04", "2025-05-01", "2025-05-02", "2025-05-05", "2025-06-02",
                 *days("2025-10-01", "2025-10-03"), *days("2025-10-06", "2025-10-08")],
        "work": ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    },
    2026: {
        "rest": ["2026-01-01", "2026-01-02", *days("2026-02-16", "2026-02-20"), "2026-02-23",
                 "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19",
                 "2026-09-25", "2026-10-01", "2026-10-02", *days("2026-10-05", "2026-10-07")],
        "work": ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                 "2026-10-10"],
    },
}


def _as_dates(items: list) -> set[dt.date]:
    return {x if isinstance(x, dt.date) else D(x) for x in items}


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_every_day_of_recent_years_matches_the_notice(cal, year):
    rest = _as_dates(OFFICIAL[year]["rest"])
    work = _as_dates(OFFICIAL[year]["work"])
    assert all(x.weekday() < 5 for x in rest) and all(x.weekday() >= 5 for x in work)
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in work or (day.weekday() < 5 and day not in rest)
        assert cal.is_workday(day) is expected, day
    assert cal.is_official(year)


def test_2024_new_year_eve_was_a_working_day(cal):
    # 2024: the notice only encouraged a day off on 除夕 (9 February); officially a working day
    assert cal.is_workday(D("2024-02-09"))


def test_calendar_matches_chinesecalendar_day_by_day_2004_2026(cal):
    mismatches = [day for day in days("2004-01-01", "2026-12-31")
                  if cal.is_workday(day) is not chinese_calendar.is_workday(day)]
    assert mismatches == []
    assert cal.official_years == list(range(2004, 2027))


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_rule_is_contained_in_the_official_arrangement(cal, year):
    """Every statutory holiday day of the 2025 rules is a rest day in the official arrangement,
    so the provisional estimate never promises a working day the State Council gives off."""
    periods = statutory_holidays(year)
    assert {p.name for p in periods} == {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节",
                                         "国庆节"}
    statutory = [x for p in periods for x in days(p.start.isoformat(), p.end.isoformat())]
    assert len(statutory) == 13  # 13 days off a year since 2025 (decree 795)
    for day in statutory:
        assert not chinese_calendar.is_workday(day), day
        assert not cal.is_workday(day), day


def test_statutory_dates_2027_by_hand():
    # 2027: 除夕 is 5 February (Friday), 清明 5 April, 端午 9 June, 中秋 15 September
    got = {p.name: (p.start, p.end) for p in statutory_holidays(2027)}
    assert got["春节"] == (D("2027-02-05"), D("2027-02-08"))
    assert got["清明节"] == (D("2027-04-05"), D("2027-04-05"))
    assert got["端午节"] == (D("2027-06-09"), D("2027-06-09"))
    assert got["中秋节"] == (D("2027-09-15"), D("2027-09-15"))
    assert got["国庆节"] == (D("2027-10-01"), D("2027-10-03"))


def test_2027_is_provisional_and_follows_the_statutory_rule(cal):
    assert not cal.is_official(2027)
    assert cal.arrangement(2027).workdays == ()
    # Spring Festival 2027: Fri 5 Feb to Mon 8 Feb off, no make-up day is guessed
    assert not cal.is_workday(D("2027-02-05"))
    assert not cal.is_workday(D("2027-02-08"))
    assert cal.is_workday(D("2027-02-04"))
    assert cal.is_workday(D("2027-02-09"))
    assert not cal.is_workday(D("2027-02-06"))  # a Saturday stays a rest day
    assert cal.is_workday(D("2027-10-04"))  # 国庆 is 3 days by the rule alone


def test_years_far_outside_the_calendar_raise_a_clear_error(cal):
    with pytest.raises(CalendarRangeError, match="超出工作日日历的范围"):
        cal.is_workday(D("2003-12-31"))
    with pytest.raises(CalendarRangeError):
        cal.add_workdays(D("2100-01-01"), 1)


ARRANGEMENT_2027 = """years:
  # hypothetical arrangement, only to show that an editor's year replaces the estimate
  2027:
    notice: 国务院办公厅关于2027年部分节假日安排的通知（测试用，非真实安排）
    holidays:
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节, from: 2027-02-05, to: 2027-02-12}
    workdays:
      - {name: 春节调休, date: 2027-02-20}
"""


def test_adding_2027_to_calendar_yaml_makes_it_official(content_copy: Path):
    before = load_rules(content_copy, today=TODAY).calendar
    path = content_copy / "calendar.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("years: {}") == 1
    path.write_text(text.replace("years: {}", ARRANGEMENT_2027), encoding="utf-8")
    after = load_rules(content_copy, today=TODAY).calendar

    assert not before.is_official(2027) and after.is_official(2027)
    # the make-up Saturday counts: Friday 19 Feb + 1 is Saturday 20 Feb, not Monday 22 Feb
    old = add_working_days(before, D("2027-02-19"), 1)
    new = add_working_days(after, D("2027-02-19"), 1)
    assert (old.date, old.provisional) == (D("2027-02-22"), True)
    assert (new.date, new.provisional) == (D("2027-02-20"), False)
    # the longer holiday moves a promise: Thu 4 Feb + 1 was Tue 9 Feb, now Mon 15 Feb
    assert before.add_workdays(D("2027-02-04"), 1) == D("2027-02-09")
    assert after.add_workdays(D("2027-02-04"), 1) == D("2027-02-15")
    # a result crossing from 2026 into 2027 is official once 2027 is
    crossing = add_working_days(after, D("2026-12-30"), 3)
    assert crossing.date == D("2027-01-05")  # Thu 31 Dec, Mon 4, Tue 5 Jan
    assert not crossing.provisional
    # 2026 days are untouched by the new year
    assert all(before.is_workday(x) == after.is_workday(x)
               for x in days("2026-01-01", "2026-12-31"))


def test_cross_year_make_up_day_belongs_to_the_next_year(cal):
    # 2007-12-29 (Saturday) was worked for the 2008 New Year; 2007-12-31 (Monday) was off
    assert cal.is_workday(D("2007-12-29"))
    assert not cal.is_workday(D("2007-12-31"))
    assert any(w.date == D("2007-12-29") for w in cal.arrangement(2008).workdays)
    new_year_2008 = [h for h in cal.arrangement(2008).holidays if h.name == "元旦"]
    assert [(h.start, h.end) for h in new_year_2008] == [(D("2007-12-30"), D("2008-01-01"))]
    assert all(h.end.year == 2018 for h in cal.arrangement(2018).holidays)  # not 2019's 元旦
    assert any(h.start == D("2018-12-30") for h in cal.arrangement(2019).holidays)
    assert cal.add_workdays(D("2007-12-28"), 1) == D("2007-12-29")
    assert cal.add_workdays(D("2007-12-29"), 1) == D("2008-01-02")
