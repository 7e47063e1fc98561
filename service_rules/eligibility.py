"""Who may use a service, and if not, why — in plain Chinese. Pure functions.

Readings of the brochure, chosen in the insured's favour where it is unclear:
- the policy year runs from the effective date to the day before each anniversary;
- the waiting period counts from the first effective date; a diagnosis on the first day
  after it qualifies;
- the right lapses at the end of the policy year in which the diagnosis fell; a request made
  on the last day of that year is in time, and the service may be completed after it;
- a use counts as used once booked and attended or missed (see the service notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def message(self) -> str:
        """Every reason, each a full sentence ending in 。, one after another."""
        return "".join(r.message for r in self.reasons)


def _anniversary(start: dt.date, years: int) -> dt.date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a non-leap year: the year ends on 28 February
        return start.replace(year=start.year + years, day=28)


def policy_year(effective: dt.date, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the policy year containing `day` (day >= effective)."""
    n = day.year - effective.year
    while n > 0 and _anniversary(effective, n) > day:
        n -= 1
    while _anniversary(effective, n + 1) <= day:
        n += 1
    start = _anniversary(effective, n)
    return start, _anniversary(effective, n + 1) - dt.timedelta(days=1)


def waiting_period_end(effective: dt.date, waiting_days: int) -> dt.date:
    """Last day of the waiting period (the effective date is its first day)."""
    return effective + dt.timedelta(days=waiting_days - 1) if waiting_days else \
        effective - dt.timedelta(days=1)


def check_eligibility(
    *,
    effective: dt.date,
    waiting_days: int,
    diagnosis: dt.date,
    request: dt.date,
    first_diagnosis: bool,
    use_id: str,
    use_name: str,
    used: Collection[str] = (),
    policy_end: dt.date | None = None,
) -> Eligibility:
    """Whether the insured may use `use_id` now; every reason that applies, not only the first."""
    reasons: list[Reason] = []
    if request < effective:
        reasons.append(Reason("not_effective",
                              f"保单在 {effective.isoformat()} 生效，申请日期在生效之前。"))
    if policy_end is not None and request > policy_end:
        reasons.append(Reason("policy_ended",
                              f"保单已于 {policy_end.isoformat()} 到期，不在保单年度内。"))
    if diagnosis > request:
        reasons.append(Reason("diagnosis_in_future", "确诊日期晚于申请日期，请核对确诊日期。"))
    if not first_diagnosis:
        reasons.append(Reason("not_first_diagnosis",
                              "本服务适用于初次罹患保障范围内的恶性肿瘤；复发或转移不属于初次确诊。"))
    wait_end = waiting_period_end(effective, waiting_days)
    if diagnosis <= wait_end:
        reasons.append(Reason("waiting_period",
                              f"确诊日期在等待期内（等待期到 {wait_end.isoformat()} 为止），"
                              "等待期内确诊的不能使用本服务。"))
    if diagnosis >= effective and request >= diagnosis:
        _, year_end = policy_year(effective, diagnosis)
        if request > year_end:
            reasons.append(Reason("lapsed",
                                  f"确诊所在的保单年度已于 {year_end.isoformat()} 结束，"
                                  "保单年度内未申请的服务已终止。"))
    if use_id in used:
        reasons.append(Reason("already_used", f"本保单年度的{use_name}已经使用过。"))
    return Eligibility(not reasons, tuple(reasons))
