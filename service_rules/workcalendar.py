"""Mainland-China working-day calendar.

One table of rest days and make-up working days, built once from the official arrangements
(the `chinesecalendar` package for 2004–2026, then editors' `content/calendar.yaml`, which
wins for any year it names), plus a rule-based estimate for years with no official
arrangement yet. Working days are stored as sorted date ordinals, so a lookup is a bisection.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import groupby
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as cc_data
from lunardate import LunarDate

from .models import CalendarFile

PACKAGE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
PACKAGE_SOURCE = "chinesecalendar 数据包（国务院办公厅历年节假日安排通知）"
FIRST_YEAR = 2004
PROVISIONAL_YEARS_AHEAD = 10
SHANGHAI = ZoneInfo("Asia/Shanghai")


class CalendarRangeError(ValueError):
    """A date outside the years the calendar can answer for."""


@dataclass(frozen=True)
class HolidayPeriod:
    name: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class MakeupWorkday:
    name: str
    date: dt.date


@dataclass(frozen=True)
class YearArrangementView:
    year: int
    official: bool
    source: str
    holidays: tuple[HolidayPeriod, ...]
    workdays: tuple[MakeupWorkday, ...]


def statutory_holidays(year: int) -> list[HolidayPeriod]:
    """Public holidays by the rules in force since 2025 (State Council decree 795), no swaps."""
    eve = LunarDate(year, 1, 1).to_solar_date() - dt.timedelta(days=1)
    qingming = next(d for d, name in chinese_calendar.get_solar_terms(
        dt.date(year, 4, 1), dt.date(year, 4, 10)) if name == "清明")
    return [
        HolidayPeriod("元旦", dt.date(year, 1, 1), dt.date(year, 1, 1)),
        HolidayPeriod("春节", eve, eve + dt.timedelta(days=3)),
        HolidayPeriod("清明节", qingming, qingming),
        HolidayPeriod("劳动节", dt.date(year, 5, 1), dt.date(year, 5, 2)),
        HolidayPeriod("端午节", *(2 * (LunarDate(year, 5, 5).to_solar_date(),))),
        HolidayPeriod("中秋节", *(2 * (LunarDate(year, 8, 15).to_solar_date(),))),
        HolidayPeriod("国庆节", dt.date(year, 10, 1), dt.date(year, 10, 3)),
    ]


def _periods(days: dict[dt.date, str]) -> list[HolidayPeriod]:
    """Group consecutive days with the same name into periods."""
    out: list[HolidayPeriod] = []
    ordered = sorted(days.items())
    for name, run in groupby(ordered, key=lambda kv: kv[1]):
        block: list[dt.date] = []
        for day, _ in run:
            if block and (day - block[-1]).days != 1:
                out.append(HolidayPeriod(name, block[0], block[-1]))
                block = []
            block.append(day)
        out.append(HolidayPeriod(name, block[0], block[-1]))
    return out


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


class WorkCalendar:
    """Answers is-working-day and N-working-days-after in O(log n)."""

    def __init__(self, arrangements: dict[int, YearArrangementView]):
        self.first_year = min(arrangements)
        self.last_year = max(arrangements)
        self._arrangements = arrangements
        rest: set[dt.date] = set()
        makeup: set[dt.date] = set()
        for view in arrangements.values():
            for period in view.holidays:
                rest.update(_days(period.start, period.end))
            makeup.update(w.date for w in view.workdays)
        first = dt.date(self.first_year, 1, 1).toordinal()
        last = dt.date(self.last_year, 12, 31).toordinal()
        self._first_ordinal, self._last_ordinal = first, last
        self._workdays: list[int] = [
            o for o in range(first, last + 1)
            if (d := dt.date.fromordinal(o)) in makeup or (d.weekday() < 5 and d not in rest)
        ]

    # -- construction ------------------------------------------------------
    @classmethod
    def from_content(cls, calendar_file: CalendarFile, *, today: dt.date | None = None
                     ) -> WorkCalendar:
        def owner(day: dt.date, name: str) -> int:
            # a December day of a New Year holiday, or of the make-up day that pays for it,
            # belongs to the next year's arrangement (2007-12-29 worked, 2007-12-31 off)
            return day.year + 1 if day.month == 12 and name == "New Year's Day" else day.year

        package_holidays: dict[int, dict[dt.date, str]] = {}
        for day, name in cc_data.holidays.items():
            package_holidays.setdefault(owner(day, name), {})[day] = PACKAGE_NAMES.get(name, name)
        package_workdays: dict[int, list[MakeupWorkday]] = {}
        for day, name in cc_data.workdays.items():
            package_workdays.setdefault(owner(day, name), []).append(
                MakeupWorkday(PACKAGE_NAMES.get(name, name) + "调休", day))

        arrangements: dict[int, YearArrangementView] = {}
        for year, days in package_holidays.items():
            arrangements[year] = YearArrangementView(
                year, True, PACKAGE_SOURCE, tuple(_periods(days)),
                tuple(sorted(package_workdays.get(year, []), key=lambda w: w.date)))
        for year, arr in calendar_file.years.items():
            arrangements[year] = YearArrangementView(
                year, True, arr.notice,
                tuple(HolidayPeriod(h.name, h.start, h.end) for h in arr.holidays),
                tuple(MakeupWorkday(w.name, w.date) for w in arr.workdays))
        last_official = max(arrangements)
        this_year = (today or dt.datetime.now(SHANGHAI).date()).year
        horizon = max(last_official, this_year) + PROVISIONAL_YEARS_AHEAD
        for year in range(FIRST_YEAR, horizon + 1):
            if year not in arrangements:
                arrangements[year] = YearArrangementView(
                    year, False, "按法定节假日和周末推算（暂定）",
                    tuple(statutory_holidays(year)), ())
        return cls(arrangements)

    # -- questions ---------------------------------------------------------
    def _check(self, day: dt.date) -> int:
        o = day.toordinal()
        if not self._first_ordinal <= o <= self._last_ordinal:
            raise CalendarRangeError(
                f"日期 {day.isoformat()} 超出工作日日历的范围"
                f"（{self.first_year}–{self.last_year} 年）。")
        return o

    def is_workday(self, day: dt.date) -> bool:
        o = self._check(day)
        i = bisect_left(self._workdays, o)
        return i < len(self._workdays) and self._workdays[i] == o

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (start itself never counts), n >= 1."""
        if n < 1:
            raise ValueError("n must be at least 1")
        i = bisect_right(self._workdays, self._check(start)) + n - 1
        if i >= len(self._workdays):
            raise CalendarRangeError(f"{start.isoformat()} 之后第 {n} 个工作日超出日历范围。")
        return dt.date.fromordinal(self._workdays[i])

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        a, b = self._check(start), self._check(end)
        if b < a:
            return -self.workdays_between(end, start)
        return bisect_right(self._workdays, b) - bisect_right(self._workdays, a)

    def is_official(self, year: int) -> bool:
        view = self._arrangements.get(year)
        return bool(view and view.official)

    def arrangement(self, year: int) -> YearArrangementView:
        if year not in self._arrangements:
            raise CalendarRangeError(f"{year} 年超出工作日日历的范围。")
        return self._arrangements[year]

    @property
    def official_years(self) -> list[int]:
        return sorted(y for y, v in self._arrangements.items() if v.official)
