"""The insurer's policy roster: which column holds what (content/roster.yaml), and each row
checked into a register record, or the plain-Chinese reasons it is refused. Pure functions: the
file is read by the caller (forms_app.storage.roster_files), row by row.

A reason never repeats the ID number it refuses: reports and the import history are read by
staff and kept, so they hold line numbers and reasons only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .eligibility import CANCELLED, IN_FORCE, LAPSED, PolicyRecord
from .identity import id_number_problem, normalise_id_number
from .models import OPTIONAL_ROSTER_FIELDS, ROSTER_FIELDS, RosterFile

_POLICY_RE = re.compile(r"^[A-Z0-9-]{4,32}$")
_DATE_RES = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_FULLWIDTH = str.maketrans("０１２３４５６７８９－／．", "0123456789-/.")
MAX_WAITING_DAYS = 730
EARLIEST = dt.date(1990, 1, 1)


class RosterFileError(ValueError):
    """The file as a whole cannot be imported (nothing of it is): the message says why."""


def heading_key(text: object) -> str:
    """A heading as compared with the content's column names: no spaces of any width."""
    return "".join(str(text or "").split()).replace("\u3000", "")


@dataclass(frozen=True)
class ColumnMap:
    """Register field -> position of its column in the file's rows."""

    positions: dict[str, int]


def map_columns(header: Sequence[object], roster: RosterFile) -> ColumnMap:
    """The column of each register field in this file's heading row; RosterFileError naming the
    first missing or doubled column (with the names that would have been accepted)."""
    keys = [heading_key(h) for h in header]
    positions: dict[str, int] = {}
    for field, label in ROSTER_FIELDS.items():
        names = getattr(roster.columns, field)
        found = [i for i, key in enumerate(keys) if key and key in {heading_key(n) for n in names}]
        if len(found) > 1:
            shown = "、".join(f"“{header[i]}”" for i in found)
            raise RosterFileError(f"第一行有 {len(found)} 列都表示“{label}”（{shown}），"
                                  "只能保留一列。")
        if found:
            positions[field] = found[0]
        elif field not in OPTIONAL_ROSTER_FIELDS:
            accepted = "、".join(f"“{n}”" for n in names)
            raise RosterFileError(f"第一行（列标题）里找不到“{label}”这一列。"
                                  f"可以使用的列名：{accepted}（在 content/roster.yaml 里设置）。")
    return ColumnMap(positions)


@dataclass(frozen=True)
class RosterRow:
    """A valid row: the record, and the ID number it is to be found by (hashed and encrypted
    by storage, never kept in clear)."""

    line: int
    id_number: str
    record: PolicyRecord


@dataclass(frozen=True)
class RefusedRow:
    line: int
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "".join(self.reasons)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value: object) -> dt.date | None:
    """A date as rosters write it: a spreadsheet date, 2025-03-01, 2025/3/1, 2025.03.01,
    20250301 or 2025年3月1日. None when it is none of these or no real day."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:  # the common case first: about 20 times faster than the patterns
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    text = _text(value).translate(_FULLWIDTH)
    text = text.split(" ")[0].split("T")[0]  # "2025-03-01 00:00:00" from some exports
    for pattern in _DATE_RES:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    return None


def _status_words(roster: RosterFile) -> dict[str, str]:
    return {heading_key(w): status for status in (IN_FORCE, LAPSED, CANCELLED)
            for w in getattr(roster.statuses, status)}


def status_of(value: object, roster: RosterFile) -> str | None:
    return _status_words(roster).get(heading_key(value))


def parse_row(line: int, values: Sequence[object], columns: ColumnMap, roster: RosterFile,
              today: dt.date) -> RosterRow | RefusedRow | None:
    """One data row: the record, every reason it is refused, or None for an empty row."""
    return RowParser(columns, roster, today).parse(line, values)


class RowParser:
    """`parse_row` with what does not change from row to row worked out once (a roster can
    have a million rows)."""

    def __init__(self, columns: ColumnMap, roster: RosterFile, today: dt.date):
        self.columns = columns
        self.roster = roster
        self.today = today
        self.latest = today + dt.timedelta(days=3 * 366)
        self.statuses = _status_words(roster)
        self.status_list = "、".join(w for s in (IN_FORCE, LAPSED, CANCELLED)
                                     for w in getattr(roster.statuses, s))

    def parse(self, line: int, values: Sequence[object]) -> RosterRow | RefusedRow | None:
        return _parse(self, line, values)


def _parse(p: RowParser, line: int, values: Sequence[object]
           ) -> RosterRow | RefusedRow | None:
    positions = p.columns.positions
    today = p.today

    def cell(field: str) -> object:
        pos = positions.get(field)
        return values[pos] if pos is not None and pos < len(values) else None

    if all(_text(v) == "" for v in values):
        return None
    reasons: list[str] = []

    policy = _text(cell("policy_number")).replace(" ", "").upper()
    if not policy:
        reasons.append("保单号为空。")
    elif not _POLICY_RE.match(policy):
        reasons.append("保单号应为4到32位字母、数字或横线。")

    name = _text(cell("insured_name"))
    if not name:
        reasons.append("被保险人姓名为空。")
    elif len(name) > 50 or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        reasons.append("被保险人姓名超过50个字或含有无法显示的字符。")

    raw_id = cell("id_number")
    id_number = ""
    if isinstance(raw_id, float) or (isinstance(raw_id, int) and len(str(raw_id)) > 15):
        # Excel keeps 15 significant digits: an 18-digit number stored as a number is damaged
        reasons.append("身份证号码被表格软件存成了数字，后几位已经丢失："
                       "请把这一列设为“文本”格式后重新导出。")
    else:
        id_number = normalise_id_number(_text(raw_id))
        problem = id_number_problem(id_number, today=today)
        if problem:
            reasons.append("身份证号码为空。" if not id_number
                           else problem.replace("您填写了", "这里是"))

    dates: dict[str, dt.date] = {}
    for field in ("first_effective", "period_start", "period_end"):
        label = ROSTER_FIELDS[field]
        raw = cell(field)
        if _text(raw) == "" and not isinstance(raw, dt.date):
            reasons.append(f"{label}为空。")
            continue
        day = parse_date(raw)
        if day is None:
            reasons.append(f"{label}“{_text(raw)[:20]}”无法识别，"
                           "应写成 年-月-日，例如 2025-03-01。")
        elif day < EARLIEST or day > p.latest:
            reasons.append(f"{label} {day.isoformat()} 不像真实的日期，请核对年份。")
        else:
            dates[field] = day
    if len(dates) == 3:
        if dates["period_end"] < dates["period_start"]:
            reasons.append("本期保险止期早于起期。")
        if dates["first_effective"] > dates["period_start"]:
            reasons.append("首次生效日期晚于本期保险起期（首次生效日期应是第一次投保生效的日期）。")

    status_raw = cell("status")
    status = p.statuses.get(heading_key(status_raw))
    if status is None:
        shown = _text(status_raw)[:20]
        reasons.append(f"保单状态“{shown}”无法识别，可以写：{p.status_list}。" if shown
                       else "保单状态为空。")

    waiting: int | None = None
    raw_wait = _text(cell("waiting_period_days")).removesuffix("天")
    if raw_wait:
        if raw_wait.isdigit() and int(raw_wait) <= MAX_WAITING_DAYS:
            waiting = int(raw_wait)
        else:
            reasons.append(f"等待期天数“{raw_wait[:20]}”应为0到{MAX_WAITING_DAYS}的整数。")

    plan = _text(cell("plan")) or None
    if plan is not None and len(plan) > 64:
        reasons.append("保障计划超过64个字。")

    if reasons:
        return RefusedRow(line, tuple(reasons))
    assert status is not None
    return RosterRow(line, id_number, PolicyRecord(
        policy_number=policy, insured_name=name, first_effective=dates["first_effective"],
        period_start=dates["period_start"], period_end=dates["period_end"], status=status,
        waiting_period_days=waiting, plan=plan))
