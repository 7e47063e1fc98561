"""Eligibility: who may use a service now, and the plain-Chinese reason when not."""

from __future__ import annotations

import datetime as dt

import pytest

from service_rules.eligibility import check_eligibility, policy_year, waiting_period_end

D = dt.date.fromisoformat
EFFECTIVE = D("2025-03-01")  # waiting period of 90 days: 1 March to 29 May 2025


def check(**overrides):
    args = dict(effective=EFFECTIVE, waiting_days=90, diagnosis=D("2025-06-10"),
                request=D("2025-06-20"), first_diagnosis=True, use_id="outpatient",
                use_name="门诊预约", used=())
    args.update(overrides)
    return check_eligibility(**args)


def codes(result) -> list[str]:
    return [r.code for r in result.reasons]


def test_waiting_period_from_content_is_a_number_of_days(rules):
    assert rules.content.product.waiting_period_days == 90


def test_allowed_after_the_waiting_period():
    result = check()
    assert result.allowed and result.reasons == () and result.message == ""


def test_waiting_period_end_counts_the_effective_date_as_day_one():
    assert waiting_period_end(EFFECTIVE, 90) == D("2025-05-29")  # 31 + 30 + 29 days
    assert waiting_period_end(EFFECTIVE, 0) == D("2025-02-28")


def test_diagnosis_on_the_last_day_of_the_waiting_period_is_refused():
    result = check(diagnosis=D("2025-05-29"), request=D("2025-06-02"))
    assert not result.allowed and codes(result) == ["waiting_period"]
    assert "等待期内" in result.message and "2025-05-29" in result.message


def test_diagnosis_on_the_first_day_after_the_waiting_period_is_allowed():
    assert check(diagnosis=D("2025-05-30"), request=D("2025-05-30")).allowed


def test_no_waiting_period_allows_a_diagnosis_on_the_effective_date():
    assert check(waiting_days=0, diagnosis=EFFECTIVE, request=EFFECTIVE).allowed


def test_not_a_first_diagnosis():
    result = check(first_diagnosis=False)
    assert codes(result) == ["not_first_diagnosis"]
    assert "初次" in result.message


def test_request_on_the_last_day_of_the_policy_year_of_diagnosis_is_in_time():
    assert policy_year(EFFECTIVE, D("2025-06-10")) == (D("2025-03-01"), D("2026-02-28"))
    assert check(request=D("2026-02-28")).allowed


def test_lapsed_after_the_policy_year_of_diagnosis():
    result = check(request=D("2026-03-01"))
    assert codes(result) == ["lapsed"]
    assert "2026-02-28" in result.message and "终止" in result.message


def test_already_used_counts_per_use():
    result = check(used={"outpatient"})
    assert codes(result) == ["already_used"]
    assert "门诊预约" in result.message and "已经使用" in result.message
    # the green channel has one outpatient and one inpatient use: the other is still open
    assert check(used={"outpatient"}, use_id="inpatient", use_name="住院预约").allowed


def test_request_before_the_effective_date():
    result = check(diagnosis=D("2025-02-01"), request=D("2025-02-20"))
    assert "not_effective" in codes(result)
    # diagnosed before cover began: said so, not "in the waiting period"
    assert "diagnosed_before_cover" in codes(result) and "waiting_period" not in codes(result)
    assert "生效之前" in result.message and "早于保单首次生效日期" in result.message


def test_policy_ended():
    result = check(policy_end=D("2025-06-15"))
    assert codes(result) == ["policy_ended"] and "到期" in result.message


def test_diagnosis_after_the_request_is_questioned():
    result = check(diagnosis=D("2025-06-25"))
    assert codes(result) == ["diagnosis_in_future"]


def test_every_reason_is_given_not_only_the_first():
    result = check(first_diagnosis=False, diagnosis=D("2025-04-01"), request=D("2025-04-02"),
                   used={"outpatient"})
    assert codes(result) == ["not_first_diagnosis", "waiting_period", "already_used"]
    assert result.message == "".join(r.message for r in result.reasons)
    assert all(r.message.endswith("。") for r in result.reasons)
    assert "。；" not in result.message


# -- an effective date of 29 February --------------------------------------------------------

LEAP = D("2024-02-29")


@pytest.mark.parametrize(("day", "year"), [
    ("2024-02-29", ("2024-02-29", "2025-02-27")),
    ("2025-02-27", ("2024-02-29", "2025-02-27")),
    # no 29 February in 2025: the anniversary is the last day of February
    ("2025-02-28", ("2025-02-28", "2026-02-27")),
    ("2027-03-01", ("2027-02-28", "2028-02-28")),
    ("2028-02-29", ("2028-02-29", "2029-02-27")),
])
def test_policy_years_from_29_february(day, year):
    assert policy_year(LEAP, D(day)) == (D(year[0]), D(year[1]))


def test_29_february_waiting_period_and_lapse():
    assert waiting_period_end(LEAP, 90) == D("2024-05-28")
    base = dict(effective=LEAP, diagnosis=D("2025-01-10"))
    assert check(**base, request=D("2025-02-27")).allowed
    lapsed = check(**base, request=D("2025-02-28"))
    assert codes(lapsed) == ["lapsed"] and "2025-02-27" in lapsed.message
    # diagnosed in the second policy year: that year runs to 27 Feb 2026
    assert check(effective=LEAP, diagnosis=D("2025-02-28"), request=D("2026-02-27")).allowed
    assert not check(effective=LEAP, diagnosis=D("2025-02-28"), request=D("2026-02-28")).allowed
