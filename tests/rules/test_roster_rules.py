"""The policy roster and the register, as pure rules: column mapping from content/roster.yaml,
rows checked into records with Chinese reasons, an applicant matched against the records, and
the rules read fairest to the insured (issue 13)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service_rules import ContentError, load_content
from service_rules.deadlines import check_admission_date, earliest_admission
from service_rules.eligibility import (
    IN_FORCE,
    LAPSED,
    PolicyRecord,
    check_eligibility,
    match_record,
)
from service_rules.identity import id_check_char
from service_rules.roster import (
    RefusedRow,
    RosterFileError,
    RosterRow,
    map_columns,
    parse_date,
    parse_row,
)

D = dt.date.fromisoformat
TODAY = D("2026-06-01")
ID = "11010519491231002X"
HEADER = ["保单号", "被保险人姓名", "身份证号码", "首次生效日期", "本期起期", "本期止期",
          "保单状态", "等待期天数", "保障计划"]


def row(**over: object) -> list[object]:
    values = {"保单号": "P2024-0001", "被保险人姓名": "张三", "身份证号码": ID,
              "首次生效日期": "2024-03-01", "本期起期": "2026-03-01", "本期止期": "2027-02-28",
              "保单状态": "有效", "等待期天数": "", "保障计划": "尊享版"}
    values.update(over)
    return [values[h] for h in HEADER]


def parse(values: list[object], rules, header=HEADER):
    roster = rules.content.roster_file
    return parse_row(7, values, map_columns(header, roster), roster, TODAY)


# -- columns --------------------------------------------------------------------------------
def test_columns_are_found_by_any_name_the_content_allows(rules):
    header = [" 保单号码 ", "姓名", "证件号码", "保单首次生效日期", "保险起期", "保险止期", "状态",
              "备注"]
    cols = map_columns(header, rules.content.roster_file)
    assert cols.positions == {"policy_number": 0, "insured_name": 1, "id_number": 2,
                              "first_effective": 3, "period_start": 4, "period_end": 5,
                              "status": 6}


def test_a_missing_column_refuses_the_file_and_names_what_is_accepted(rules):
    with pytest.raises(RosterFileError) as exc:
        map_columns(HEADER[:2] + HEADER[3:], rules.content.roster_file)
    assert "找不到“身份证号码”这一列" in str(exc.value)
    assert "“证件号码”" in str(exc.value)


def test_two_columns_for_one_field_refuse_the_file(rules):
    with pytest.raises(RosterFileError) as exc:
        map_columns([*HEADER, "姓名"], rules.content.roster_file)
    assert "都表示“被保险人姓名”" in str(exc.value)


def test_roster_yaml_problems_name_file_and_line(content_copy: Path):
    path = content_copy / "roster.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  status: [保单状态, 状态]", "  status: [保单状态, 姓名]"),
                    encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    problem = exc.value.problems[0]
    assert problem.file == "content/roster.yaml"
    assert problem.line == text.splitlines().index("  status: [保单状态, 状态]") + 1
    assert "列名“姓名”同时写在了" in problem.message


def test_roster_yaml_may_be_absent(content_copy: Path):
    (content_copy / "roster.yaml").unlink()
    content = load_content(content_copy)
    assert content.roster_file.pending_when_not_verified is True
    assert content.roster_file.columns.id_number == ["身份证号码"]


# -- rows -----------------------------------------------------------------------------------
def test_a_valid_row_becomes_a_record(rules):
    parsed = parse(row(), rules)
    assert isinstance(parsed, RosterRow) and parsed.line == 7 and parsed.id_number == ID
    assert parsed.record == PolicyRecord("P2024-0001", "张三", D("2024-03-01"), D("2026-03-01"),
                                         D("2027-02-28"), IN_FORCE, None, "尊享版")


def test_dates_as_rosters_write_them():
    assert parse_date("2025/3/1") == parse_date("20250301") == parse_date("2025年3月1日") \
        == parse_date(dt.datetime(2025, 3, 1, 0, 0)) == parse_date("2025-03-01 00:00:00") \
        == D("2025-03-01")
    assert parse_date("2025-02-30") is None and parse_date("三月") is None


def test_every_reason_of_a_bad_row_without_repeating_the_id_number(rules):
    bad_id = ID[:17] + "1"
    parsed = parse(row(身份证号码=bad_id, 本期止期="2026-02-01", 保单状态="暂停",
                       被保险人姓名=""), rules)
    assert isinstance(parsed, RefusedRow) and parsed.line == 7
    assert "校验码" in parsed.reason and "被保险人姓名为空" in parsed.reason
    assert "止期早于起期" in parsed.reason and "保单状态“暂停”无法识别" in parsed.reason
    assert bad_id not in parsed.reason and ID[:6] not in parsed.reason


def test_an_id_number_excel_stored_as_a_number_is_refused(rules):
    parsed = parse(row(身份证号码=110105194912310020.0), rules)
    assert isinstance(parsed, RefusedRow) and "存成了数字" in parsed.reason


def test_empty_rows_are_skipped_and_waiting_days_read(rules):
    assert parse(["", None, " "] + [""] * 6, rules) is None
    parsed = parse(row(等待期天数="180天", 保单状态="失效"), rules)
    assert isinstance(parsed, RosterRow)
    assert parsed.record.waiting_period_days == 180 and parsed.record.status == LAPSED


# -- the applicant against the register -------------------------------------------------------
RECORD = PolicyRecord("P2024-0001", "张三", D("2024-03-01"), D("2026-03-01"), D("2027-02-28"),
                      IN_FORCE)


def match(records, name="张三", policy="P2024-0001", today=TODAY):
    return match_record(records, name=name, policy_number=policy, today=today,
                        hotline="400-606-5033")


def test_in_force_record_verifies():
    found = match([RECORD], name=" 张 三")
    assert found.verified and found.record == RECORD


def test_not_found_and_name_mismatch_get_a_calm_message_with_the_hotline():
    for found, outcome in ((match([]), "not_found"), (match([RECORD], name="李四"),
                                                      "name_mismatch")):
        assert found.outcome == outcome and not found.verified
        assert "400-606-5033" in found.applicant_message and found.staff_note


def test_lapsed_or_ended_policy_is_not_in_force():
    lapsed = PolicyRecord(**{**RECORD.__dict__, "status": LAPSED})
    assert match([lapsed]).outcome == "not_in_force"
    assert "已失效" in match([lapsed]).applicant_message
    ended = match([RECORD], today=D("2027-03-01"))
    assert ended.outcome == "not_in_force" and "2027-02-28 到期" in ended.applicant_message
    # of two policies the one in force wins
    assert match([lapsed, PolicyRecord(**{**RECORD.__dict__, "policy_number": "P9"})],
                 policy="X").record.policy_number == "P9"


def test_a_renewal_keeps_the_waiting_period_of_the_first_effective_date():
    # renewed 2026-03-01; diagnosed 2026-04-01: 90 days after the renewal, but two years
    # after the first effective date
    args = dict(effective=RECORD.first_effective, waiting_days=90, diagnosis=D("2026-04-01"),
                request=TODAY, first_diagnosis=True, use_id="outpatient", use_name="门诊预约",
                current_year=(RECORD.period_start, RECORD.period_end))
    assert check_eligibility(**args).allowed
    # the renewal date as if it were the first: refused (what typing a renewal date did)
    assert not check_eligibility(**{**args, "effective": RECORD.period_start}).allowed


def test_current_year_from_the_register_sets_the_lapse():
    args = dict(effective=D("2024-03-01"), waiting_days=90, diagnosis=D("2026-03-10"),
                request=D("2026-09-01"), first_diagnosis=True, use_id="x", use_name="x")
    # a register year running to 2026-08-31 (renewal date moved): the right lapsed
    result = check_eligibility(**args, current_year=(D("2025-09-01"), D("2026-08-31")))
    assert [r.code for r in result.reasons] == ["lapsed"]


# -- fairest readings ---------------------------------------------------------------------------
def test_direct_billing_has_no_limit_and_two_services_no_waiting_period(rules):
    services = rules.content.service_by_id
    use = services["direct_billing"].uses[0]
    assert not use.limited and use.times_text == "不限次数"
    assert services["green_channel"].uses[0].times_text == "1次"
    assert {s.id for s in rules.content.services if s.waiting_period} == \
        {"green_channel", "genetic_testing"}
    notes = [n.text for n in services["second_opinion"].notes]
    assert "不承诺由指定专家出具意见。" not in notes
    assert any("没有写等待期" in n for n in notes)
    unlimited = check_eligibility(effective=D("2024-03-01"), waiting_days=0,
                                  diagnosis=D("2026-05-01"), request=TODAY,
                                  first_diagnosis=True, use_id=use.id, use_name=use.name,
                                  used={use.id}, limited=False)
    assert unlimited.allowed


def test_times_must_be_a_positive_number_or_unlimited(content_copy: Path):
    path = content_copy / "services.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("times: unlimited", "times: 0"),
                    encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    assert "使用次数 0 不对" in exc.value.problems[0].message
    assert "unlimited" in exc.value.problems[0].fix


def test_diagnosis_before_cover_is_not_called_a_waiting_period():
    result = check_eligibility(effective=D("2025-03-01"), waiting_days=0,
                               diagnosis=D("2025-01-10"), request=D("2025-06-01"),
                               first_diagnosis=True, use_id="x", use_name="x")
    assert [r.code for r in result.reasons] == ["diagnosed_before_cover"]
    assert "等待期" not in result.message


def test_admission_refusal_resting_on_a_provisional_day_goes_to_staff(rules):
    booking = rules.content.service("direct_billing").advance_booking
    cal = rules.calendar
    today = D("2026-12-28")  # 2027 has no official arrangement yet: 1 January estimated
    earliest = earliest_admission(cal, today, booking)
    assert earliest.provisional and earliest.date == D("2027-01-05")
    # one day sooner is refused only by the estimated New Year's Day: staff decide
    soon = check_admission_date(cal, today, D("2027-01-04"), booking)
    assert soon.ok and soon.staff_decide and "暂定" in soon.message
    # sooner still is short even if every estimated holiday were a working day
    refused = check_admission_date(cal, today, D("2027-01-01"), booking)
    assert not refused.ok and "2027-01-05（暂定）" in refused.message
    # an official stretch refuses as before, without 暂定
    plain = check_admission_date(cal, D("2026-06-01"), D("2026-06-03"), booking)
    assert not plain.ok and not plain.staff_decide and "暂定" not in plain.message


def test_check_character_helper_matches_the_fixture():
    assert id_check_char(ID[:17]) == ID[17]
