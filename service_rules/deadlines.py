"""Deadline engine: which date do we promise? Pure functions over a WorkCalendar.

Counting follows Civil Code art. 201: the day of the starting event does not count; the
promise falls on the N-th working day after it. Dates are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from .models import AdvanceBooking, Content, Promise
from .workcalendar import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_date(moment: dt.datetime) -> dt.date:
    """The calendar date in Beijing time of an instant; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).date()


def shanghai_today(now: dt.datetime | None = None) -> dt.date:
    return shanghai_date(now or dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Deadline:
    """A promised (or earliest allowed) date with how it was reached."""

    date: dt.date
    start: dt.date
    working_days: int
    rule: str
    years: tuple[int, ...]
    provisional_years: tuple[int, ...]

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    def notes(self) -> list[str]:
        notes = [self.rule]
        if self.provisional:
            missing = "、".join(str(y) for y in self.provisional_years)
            notes.append(f"暂定：{missing} 年的正式放假安排尚未公布，"
                         "日期按法定节假日推算，正式安排公布后可能调整。")
        else:
            notes.append("按国务院公布的正式放假和调休安排计算。")
        return notes

    def as_dict(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["start"] = self.start.isoformat()
        data["years"] = list(self.years)
        data["provisional_years"] = list(self.provisional_years)
        data["provisional"] = self.provisional
        data["notes"] = self.notes()
        return data


# A year's New Year arrangement can reach back into the last days of December before it:
# 2007-12-29 and 2018-12-29 were make-up working days, 2007-12-31 and 2018-12-31 holidays.
# A date from this day of December on depends on the next year's arrangement too.
NEXT_YEAR_REACHES_BACK_TO = (12, 24)


def _years(cal: WorkCalendar, start: dt.date, end: dt.date
           ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    last = end.year
    if (end.month, end.day) >= NEXT_YEAR_REACHES_BACK_TO and last + 1 <= cal.last_year:
        last += 1
    years = tuple(range(start.year, last + 1))
    return years, tuple(y for y in years if not cal.is_official(y))


def add_working_days(cal: WorkCalendar, start: dt.date, n: int, rule: str | None = None
                     ) -> Deadline:
    """The n-th working day after `start`, with the rule and calendar years it used."""
    end = cal.add_workdays(start, n)
    years, provisional = _years(cal, start, end)
    rule = rule or f"从 {start.isoformat()} 的下一天起算，第 {n} 个工作日（起算当天不计入）。"
    return Deadline(end, start, n, rule, years, provisional)


def promise_start(promise: Promise, events: Mapping[str, dt.date]) -> dt.date | None:
    """The clock starts at the latest of the promise's starting events; None until all happened."""
    dates = [events.get(e) for e in promise.starts_after]
    if any(d is None for d in dates):
        return None
    return max(dates)  # type: ignore[type-var]


def promise_due(cal: WorkCalendar, content: Content, promise: Promise,
                events: Mapping[str, dt.date]) -> Deadline | None:
    """When a promise falls due, given the dates of the events recorded so far."""
    start = promise_start(promise, events)
    if start is None:
        return None
    names = [content.event_by_id[e].name for e in promise.starts_after]
    if len(names) == 1:
        how = f"{names[0]}（{start.isoformat()}）"
    else:
        how = f"{'、'.join(names)}中较晚的一天（{start.isoformat()}）"
    rule = (f"从{how}的下一天起算，第 {promise.working_days} 个工作日内{promise.promise}"
            "（起算当天不计入）。")
    return add_working_days(cal, start, promise.working_days, rule)


def earliest_admission(cal: WorkCalendar, today: dt.date, booking: AdvanceBooking) -> Deadline:
    """Earliest admission date that may be booked today for direct billing."""
    rule = (f"直付服务需提前 {booking.working_days} 个工作日预约：今天（{today.isoformat()}）"
            f"预约，入院日期最早为第 {booking.working_days} 个工作日。")
    return add_working_days(cal, today, booking.working_days, rule)


@dataclass(frozen=True)
class AdmissionCheck:
    ok: bool
    earliest: Deadline
    message: str
    # accepted only because the days that would refuse it are provisional (a year with no
    # official arrangement yet): staff decide, the applicant is not refused outright
    staff_decide: bool = False


def _uncertain(cal: WorkCalendar, day: dt.date) -> bool:
    """Whether `day` being a working day or not rests on an arrangement not yet published:
    its year's, or for the last days of December the next year's (see `_years`)."""
    if not cal.is_official(day.year):
        return True
    return ((day.month, day.day) >= NEXT_YEAR_REACHES_BACK_TO
            and day.year + 1 <= cal.last_year and not cal.is_official(day.year + 1))


def check_admission_date(cal: WorkCalendar, today: dt.date, requested: dt.date,
                         booking: AdvanceBooking) -> AdmissionCheck:
    """Is `requested` far enough ahead for a direct-billing booking made today?

    When the earliest date is provisional and `requested` would be far enough if every
    provisional weekday counted as a working day, the refusal would rest only on an estimated
    holiday: the booking is accepted with `staff_decide` set (the reading fairest to the
    insured; staff confirm once the arrangement is known)."""
    earliest = earliest_admission(cal, today, booking)
    if requested >= earliest.date:
        return AdmissionCheck(True, earliest, "入院日期符合提前预约的要求。")
    mark = "（暂定）" if earliest.provisional else ""
    if earliest.provisional and requested > today:
        days = (requested - today).days
        counted = sum(1 for i in range(1, days + 1)
                      for day in [today + dt.timedelta(days=i)]
                      if cal.is_workday(day) or (_uncertain(cal, day) and day.weekday() < 5))
        if counted >= booking.working_days:
            return AdmissionCheck(
                True, earliest,
                f"按目前推算的放假安排，今天预约最早可选 {earliest.date.isoformat()}{mark} 入院；"
                f"您选择的 {requested.isoformat()} 是否满足提前 {booking.working_days} "
                "个工作日预约的要求，取决于尚未公布的正式放假安排，服务人员会核实后答复您。",
                staff_decide=True)
    message = (f"直付服务需提前 {booking.working_days} 个工作日预约，"
               f"今天预约最早可选 {earliest.date.isoformat()}{mark} 入院。")
    if earliest.provisional:
        years = "、".join(str(y) for y in earliest.provisional_years)
        message += f"（暂定：{years} 年的正式放假安排尚未公布，日期按法定节假日推算。）"
    return AdmissionCheck(False, earliest, message)
