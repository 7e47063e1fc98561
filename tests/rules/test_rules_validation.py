"""Broken copies of the content: each mistake an editor can make gives a message naming the
file, the line, the YAML path and the fix in Chinese; the check command exits 1, never with a
traceback. Line numbers are found in the edited text, independently of the loader."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from service_rules import ContentError, load_content, load_rules
from service_rules.__main__ import calendar_warnings
from service_rules.deadlines import shanghai_today

ROOT = Path(__file__).resolve().parents[2]


def line_containing(path: Path, needle: str) -> int:
    """1-based number of the only line containing `needle`."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def problems_of(directory: Path):
    with pytest.raises(ContentError) as info:
        load_rules(directory)
    return info.value.problems


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service_rules", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


PROMISE_5 = "        working_days: 5\n        starts_after: [request]\n"

BROKEN = [
    # (id, file, old, new, line marker in the edited file, YAML path, message part, fix part)
    ("missing field", "services.yaml", "        promise: 安排门诊\n", "",
     "- id: outpatient_arranged",
     "services[0](green_channel).promises[0](outpatient_arranged).promise",
     "缺少必填项“promise”", "补上“promise: ……”"),
    ("wrong type", "services.yaml", PROMISE_5, PROMISE_5.replace("5", "五个"),
     "working_days: 五个",
     "services[0](green_channel).promises[0](outpatient_arranged).working_days",
     "应该是整数，现在是 '五个'", "例如 5"),
    ("negative days", "services.yaml", PROMISE_5, PROMISE_5.replace("5", "-5"),
     "working_days: -5",
     "services[0](green_channel).promises[0](outpatient_arranged).working_days",
     "必须大于 0，现在是 -5", "正整数"),
    ("zero days", "services.yaml", PROMISE_5, PROMISE_5.replace("5", "0"),
     "working_days: 0",
     "services[0](green_channel).promises[0](outpatient_arranged).working_days",
     "必须大于 0，现在是 0", "正整数"),
    ("zero advance booking", "services.yaml", "  working_days: 5\n      text:",
     "  working_days: 0\n      text:", "      working_days: 0",
     "services[3](direct_billing).advance_booking.working_days",
     "必须大于 0", "正整数"),
    ("unknown city", "hospitals.yaml", "short_name: 协和, city: beijing",
     "short_name: 协和, city: beijng", "city: beijng",
     "hospitals[0](bj-pumch).city", "城市“beijng”不在覆盖城市名单里", "cities.yaml"),
    ("duplicate hospital id", "hospitals.yaml", "id: bj-cicams,", "id: bj-pumch,",
     "short_name: 医科院肿瘤医院", "hospitals[1](bj-pumch).id",
     "医院编号“bj-pumch”重复（第 1 项已经用过）", "每个编号只能用一次"),
    ("duplicate city id", "cities.yaml",
     "{id: shenzhen,  name: 深圳", "{id: guangzhou,  name: 深圳",
     "name: 深圳", "cities[3](guangzhou).id", "城市编号“guangzhou”重复", "每个编号只能用一次"),
    ("flow names a missing promise", "services.yaml",
     "promises: [outpatient_arranged, inpatient_arranged]",
     "promises: [outpatient_arranged, inpatient_arrangd]", "inpatient_arrangd",
     "services[0](green_channel).flow[4](notify_appointment).promises[1]",
     "时效承诺“inpatient_arrangd”不存在", "inpatient_arranged, outpatient_arranged"),
    ("promise starts after a missing event", "services.yaml",
     "starts_after: [sample_received]", "starts_after: [sample_recieved]", "sample_recieved",
     "services[2](genetic_testing).promises[0](lab_report).starts_after[0]",
     "起算事件“sample_recieved”不存在", "events 里的一个编号"),
    ("typo in a key", "services.yaml",
     "        working_days: 10\n        starts_after: [records_complete]",
     "        workng_days: 10\n        starts_after: [records_complete]", "workng_days",
     "services[1](second_opinion).promises[0](opinion_report).workng_days",
     "不认识的项“workng_days”", "是不是想写“working_days”"),
    ("typo in a top-level key", "cities.yaml", "coverage_note:", "coverage_notes:",
     "coverage_notes:", "coverage_notes", "不认识的项“coverage_notes”",
     "是不是想写“coverage_note”"),
]


@pytest.mark.parametrize(("file", "old", "new", "marker", "path", "message", "fix"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_content_names_file_line_path_and_fix(edit, file, old, new, marker, path,
                                                     message, fix):
    directory = edit(file, old, new)
    problems = problems_of(directory)
    match = [p for p in problems if p.path == path]
    assert match, [p.render() for p in problems]
    problem = match[0]
    assert problem.file == f"content/{file}"
    assert problem.line == line_containing(directory / file, marker)
    assert message in problem.message
    assert fix in problem.fix
    assert problem.severity == "error"
    rendered = problem.render()
    assert rendered.startswith(f"[错误] content/{file} 第 {problem.line} 行（{path}）")
    assert "怎么改：" in rendered


def test_every_problem_is_reported_not_only_the_first(edit):
    edit("hospitals.yaml", "short_name: 协和, city: beijing", "short_name: 协和, city: Beijing")
    edit("cities.yaml", "name: 大连, province: 辽宁省", "name: 大连")
    directory = edit("services.yaml", PROMISE_5, PROMISE_5.replace("5", "0"))
    paths = {(p.file, p.path) for p in problems_of(directory)}
    assert paths == {
        ("content/services.yaml",
         "services[0](green_channel).promises[0](outpatient_arranged).working_days"),
        ("content/hospitals.yaml", "hospitals[0](bj-pumch).city"),
        ("content/cities.yaml", "cities[17](dalian).province"),
    }


def test_duplicate_yaml_key(edit):
    directory = edit("services.yaml", "  waiting_period_days: 90\n",
                     "  waiting_period_days: 90\n  waiting_period_days: 60\n")
    [problem] = problems_of(directory)
    assert problem.file == "content/services.yaml"
    assert problem.line == line_containing(directory / "services.yaml", "waiting_period_days: 60")
    assert "“waiting_period_days”写了两次" in problem.message
    assert "只能写一次" in problem.fix


def test_yaml_syntax_error(edit):
    directory = edit("services.yaml", "        starts_after: [request, admission_slip_issued]",
                     "        starts_after: [request, admission_slip_issued")
    [problem] = problems_of(directory)
    broken = line_containing(directory / "services.yaml", "[request, admission_slip_issued")
    assert problem.file == "content/services.yaml"
    # the parser notices on the line after the unclosed bracket; the fix says to look above
    assert problem.line in (broken, broken + 1)
    assert "YAML 格式有误" in problem.message
    assert "上一行" in problem.fix and "括号是否成对" in problem.fix


def test_tab_indentation(edit):
    directory = edit("cities.yaml", "  - {id: beijing,", "\t- {id: beijing,")
    [problem] = problems_of(directory)
    assert problem.line == line_containing(directory / "cities.yaml", "{id: beijing,")
    assert "YAML 格式有误" in problem.message and "Tab" in problem.fix


CALENDAR_2027 = """years:
  2027:
    notice: 测试用的安排
    holidays:
      - {{name: 春节, from: {start}, to: 2027-02-11}}
    workdays:
      - {{name: 春节调休, date: {makeup}}}
"""


@pytest.mark.parametrize(("start", "makeup", "marker", "path", "message"), [
    ("2027-02-05", "2027-02-30", "2027-02-30", "", "日期 2027-02-30 不存在"),
    ("2027-13-05", "2027-02-20", "2027-13-05", "", "日期 2027-13-05 不存在"),
    ("2027/02/05", "2027-02-20", "2027/02/05", "years.2027.holidays[0].from",
     "日期 '2027/02/05' 无法识别"),
    ("2027-02-05", "2027-02-19", "2027-02-19", "years.2027.workdays[0].date",
     "本来就是工作日（周一到周五）"),
    ("2027-02-05", "2028-02-19", "2028-02-19", "years.2027.workdays[0].date",
     "不属于 2027 年的安排"),
    ("2027-02-12", "2027-02-20", "2027-02-12", "years.2027.holidays[0].to",
     "早于开始日期"),
])
def test_wrong_dates_in_calendar_yaml(edit, start, makeup, marker, path, message):
    directory = edit("calendar.yaml", "years: {}",
                     CALENDAR_2027.format(start=start, makeup=makeup))
    problems = problems_of(directory)
    [problem] = [p for p in problems if message in p.message]
    assert problem.file == "content/calendar.yaml"
    assert problem.path == path
    assert problem.line == line_containing(directory / "calendar.yaml", marker)
    assert problem.fix


def test_missing_file(content_copy):
    (content_copy / "cities.yaml").unlink()
    problems = problems_of(content_copy)
    assert any(p.file == "content/cities.yaml" and "找不到这个文件" in p.message
               for p in problems)


# -- the check command ------------------------------------------------------------------------

def test_check_passes_on_the_shipped_content():
    result = run_cli("check")
    assert result.returncode == 0, result.stderr
    assert "检查通过" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("case", BROKEN[:6] + BROKEN[8:11], ids=lambda c: c[0])
def test_check_fails_on_a_broken_copy_without_traceback(edit, case):
    _, file, old, new, marker, path, message, _fix = case
    directory = edit(file, old, new)
    result = run_cli("--content", str(directory), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    line = line_containing(directory / file, marker)
    assert f"content/{file} 第 {line} 行（{path}）" in result.stderr
    assert message in result.stderr and "怎么改：" in result.stderr
    assert "检查未通过" in result.stderr


@pytest.mark.parametrize(("file", "old", "new"), [
    ("calendar.yaml", "years: {}", CALENDAR_2027.format(start="2027-02-05", makeup="2027-02-30")),
    ("services.yaml", "  waiting_period_days: 90\n", "  waiting_period_days: 90\n" * 2),
    ("services.yaml", "[request, admission_slip_issued]", "[request, admission_slip_issued"),
])
def test_check_fails_on_yaml_errors_without_traceback(edit, file, old, new):
    directory = edit(file, old, new)
    result = run_cli("--content", str(directory), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"[错误] content/{file} 第 " in result.stderr


def test_check_warns_when_next_years_arrangement_is_missing(content_copy):
    next_year = shanghai_today().year + 1
    official = load_rules(content_copy).calendar.is_official(next_year)
    result = run_cli("--content", str(content_copy), "check")
    assert result.returncode == 0
    warned = f"还没有 {next_year} 年的正式放假安排" in result.stdout
    assert warned is not official
    if warned:
        assert "[提醒]" in result.stdout and f"years.{next_year}" in result.stdout


def test_calendar_warnings_for_a_given_day(content_copy):
    rules = load_rules(content_copy, today=dt.date(2026, 11, 25))
    warnings = calendar_warnings(rules, dt.date(2026, 11, 25))
    assert [w.path for w in warnings] == ["years.2027"]
    assert warnings[0].severity == "warning"
    assert "《关于2027年部分节假日安排的通知》" in warnings[0].fix
    # once 2027 is in calendar.yaml the warning is gone
    path = content_copy / "calendar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "years: {}", CALENDAR_2027.format(start="2027-02-05", makeup="2027-02-20")),
        encoding="utf-8")
    rules = load_rules(content_copy, today=dt.date(2026, 11, 25))
    assert calendar_warnings(rules, dt.date(2026, 11, 25)) == []


def test_shipped_content_loads():
    content = load_content()
    assert [s.id for s in content.services] == ["green_channel", "second_opinion",
                                                "genetic_testing", "direct_billing"]
    assert len(content.cities) == 18
