"""`python -m service_rules add-workdays`: the date first, then the notes; --json is one object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service_rules", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_add_workdays_prints_the_date_first_then_the_notes():
    result = run_cli("add-workdays", "2026-09-29", "5")
    assert result.returncode == 0, result.stderr
    first, *notes = result.stdout.splitlines()
    assert first == "2026-10-12"
    assert notes and "起算当天不计入" in notes[0]
    assert any("正式放假和调休安排" in n for n in notes)
    assert not any("暂定" in n for n in notes)


def test_add_workdays_json_is_one_object():
    result = run_cli("add-workdays", "2026-09-29", "5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # fails on anything but exactly one JSON document
    assert isinstance(data, dict)
    assert data["date"] == "2026-10-12"
    assert data["provisional"] is False
    assert data["years"] == [2026]


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_add_workdays_into_2027_says_provisional(extra):
    result = run_cli("add-workdays", "2026-12-30", "5", *extra)
    assert result.returncode == 0, result.stderr
    if extra:
        data = json.loads(result.stdout)
        assert (data["date"], data["provisional"]) == ("2027-01-07", True)
        assert data["provisional_years"] == [2027]
    else:
        first, *notes = result.stdout.splitlines()
        assert first == "2027-01-07"
        assert any("暂定" in n and "2027" in n for n in notes)


def test_add_workdays_reads_a_content_copy(content_copy):
    path = content_copy / "calendar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("years: {}", """years:
  2027:
    notice: 测试用的安排（非真实）
    holidays:
      - {name: 春节, from: 2027-02-05, to: 2027-02-12}
    workdays:
      - {name: 春节调休, date: 2027-02-20}
"""), encoding="utf-8")
    result = run_cli("--content", str(content_copy), "add-workdays", "2027-02-19", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["date"], data["provisional"]) == ("2027-02-20", False)


@pytest.mark.parametrize(("args", "message"), [
    (["2026-02-30", "5"], "无法识别"),
    (["2026-09-29", "0"], "正整数"),
    (["2099-12-30", "5"], "超出工作日日历的范围"),
])
def test_add_workdays_refuses_bad_input_plainly(args, message):
    result = run_cli("add-workdays", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
