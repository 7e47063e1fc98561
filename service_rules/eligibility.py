"""Who may use a service, and if not, why — in plain Chinese. Pure functions.

Readings of the brochure, chosen in the insured's favour where it is unclear:
- the policy year runs from the effective date to the day before each anniversary;
- the waiting period counts from the first effective date (a renewal does not restart it); a
  diagnosis on the first day after it qualifies; a service whose content sets no waiting
  period (`waiting_period: false`) is given 0 days;
- a diagnosis before the policy first took effect is refused for that reason (not as "in the
  waiting period");
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
    limited: bool = True,
    current_year: tuple[dt.date, dt.date] | None = None,
) -> Eligibility:
    """Whether the insured may use `use_id` now; every reason that applies, not only the first.

    `limited`: False for a use with no limit per policy year (never "already used").
    `current_year`: the policy year in force from the insurer's register (first and last day);
    a diagnosis in it lapses at its end, an earlier one at the end of its own policy year."""
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
    if diagnosis < effective:
        reasons.append(Reason("diagnosed_before_cover",
                              f"确诊日期（{diagnosis.isoformat()}）早于保单首次生效日期"
                              f"（{effective.isoformat()}），保单生效前已确诊的不属于本服务范围。"))
    elif diagnosis <= wait_end:
        reasons.append(Reason("waiting_period",
                              f"确诊日期在等待期内（等待期到 {wait_end.isoformat()} 为止），"
                              "等待期内确诊的不能使用本服务。"))
    if diagnosis >= effective and request >= diagnosis:
        if current_year is not None and diagnosis >= current_year[0]:
            year_end = current_year[1]
        else:
            _, year_end = policy_year(effective, diagnosis)
        if request > year_end:
            reasons.append(Reason("lapsed",
                                  f"确诊所在的保单年度已于 {year_end.isoformat()} 结束，"
                                  "保单年度内未申请的服务已终止。"))
    if limited and use_id in used:
        reasons.append(Reason("already_used", f"本保单年度的{use_name}已经使用过。"))
    return Eligibility(not reasons, tuple(reasons))


# -- the insurer's register ---------------------------------------------------------------------
IN_FORCE, LAPSED, CANCELLED = "in_force", "lapsed", "cancelled"
STATUS_NAMES = {IN_FORCE: "有效", LAPSED: "已失效", CANCELLED: "已退保"}
# how a request stands against the register (stored on the request, shown to staff)
VERIFIED, PENDING, UNVERIFIED = "verified", "pending", "unverified"
VERIFICATION_NAMES = {VERIFIED: "已核实", PENDING: "待核实", UNVERIFIED: "未核实"}


@dataclass(frozen=True)
class PolicyRecord:
    """One insured's policy as the insurer's register holds it (the ID number is not here: the
    record was found by it)."""

    policy_number: str
    insured_name: str
    first_effective: dt.date
    period_start: dt.date
    period_end: dt.date
    status: str
    waiting_period_days: int | None = None
    plan: str | None = None


@dataclass(frozen=True)
class RegisterMatch:
    """The outcome of looking an applicant up: `verified` with the record to check against, or
    why not (`not_found`, `name_mismatch`, `not_in_force`) with the calm sentence the applicant
    reads and the note staff read."""

    outcome: str
    record: PolicyRecord | None
    applicant_message: str = ""
    staff_note: str = ""

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"


def same_name(a: str, b: str) -> bool:
    """Names compared without spaces and with the middle dots of minority and foreign names
    (·, •, ・, .) taken as one: a roster typed in another tool must not fail an applicant."""
    def key(name: str) -> str:
        name = "".join(name.split())
        for dot in "•・．.":
            name = name.replace(dot, "·")
        return name.casefold()
    return key(a) == key(b)


def match_record(records: Collection[PolicyRecord], *, name: str, policy_number: str,
                 today: dt.date, hotline: str) -> RegisterMatch:
    """Find the applicant among the records held under their ID number. Pure.

    Of the records whose name matches, the one with the typed policy number wins, then one in
    force today, then the latest period."""
    call = f"如有疑问，请致电服务热线 {hotline}，我们会帮您核实。"
    if not records:
        return RegisterMatch(
            "not_found", None,
            "我们暂时没有在保险公司提供的保单名单中找到被保险人的身份证号码。"
            "名单可能还没有更新，这不影响您的保障。" + call,
            "名册中没有这个身份证号码")
    named = [r for r in records if same_name(r.insured_name, name)]
    if not named:
        return RegisterMatch(
            "name_mismatch", None,
            "保险公司提供的保单名单中，这个身份证号码登记的被保险人姓名与您填写的不一致，"
            "请核对姓名是否有错字。" + call,
            "身份证号码在名册中，但姓名不一致")

    def in_force(r: PolicyRecord) -> bool:
        return r.status == IN_FORCE and r.period_start <= today <= r.period_end

    best = max(named, key=lambda r: (r.policy_number == policy_number, in_force(r),
                                     r.period_end, r.period_start))
    if in_force(best):
        return RegisterMatch("verified", best)
    if best.status != IN_FORCE:
        why = f"保单状态为“{STATUS_NAMES.get(best.status, best.status)}”"
    elif today < best.period_start:
        why = f"本期保险从 {best.period_start.isoformat()} 开始"
    else:
        why = f"本期保险已于 {best.period_end.isoformat()} 到期"
    return RegisterMatch(
        "not_in_force", best,
        f"保险公司提供的保单名单中，{why}。如果您已经续保或缴费，名单可能还没有更新。" + call,
        f"名册中的保单不在有效期内：{why}")
