"""service_rules.changes: comparing two versions of the content, and the `diff` command."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from editors_guide import ROOT, run_rules

from service_rules import ContentError, load_content
from service_rules.changes import (
    CALENDAR,
    COVERAGE,
    HOME,
    REQUESTS_NOTE,
    compare,
    pages_for,
    render_text,
    service_area,
)

CONTENT = ROOT / "content"
TODAY = dt.date(2026, 11, 24)


def line_number(path: Path, text: str) -> int:
    """1-based number of the only line of `path` containing `text`."""
    lines = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if text in line]
    assert len(lines) == 1, (text, lines)
    return lines[0]


def edit(directory: Path, filename: str, old: str, new: str) -> None:
    path = directory / filename
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def changes_of(edited: Path) -> tuple[list[str], str]:
    report = compare(load_content(CONTENT), load_content(edited), today=TODAY)
    return [c.kind for c in report.changes], render_text(report)


def test_same_content_has_no_changes(content_copy: Path) -> None:
    report = compare(load_content(CONTENT), load_content(content_copy), today=TODAY)
    assert not report.changed
    assert report.pages == ()
    text = render_text(report)
    assert "内容没有变化" in text
    assert REQUESTS_NOTE not in text
    assert report.as_dict()["note"] == ""


def test_clock_start_change_is_named(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", "        starts_after: [records_complete]\n",
         "        starts_after: [identity_confirmed]\n")
    kinds, text = changes_of(content_copy)
    assert kinds == ["promise_changed"]
    assert ("第二诊疗意见·由专家出具第二诊疗意见报告："
            "起算事件 病历资料收集完整 → 身份与保障已确认") in text
    assert "服务页面 services/second_opinion（第二诊疗意见）" in text
    assert REQUESTS_NOTE in text


def test_shorter_promise_needs_its_prose_changed_too(content_copy: Path) -> None:
    edit(content_copy, "services.yaml",
         "        working_days: 15\n        starts_after: [sample_received]",
         "        working_days: 12\n        starts_after: [sample_received]")
    # the flow step still says 15: the check refuses the content until the prose follows
    with pytest.raises(ContentError) as broken:
        load_content(content_copy)
    message = str(broken.value)
    line = line_number(content_copy / "services.yaml", "实验室收到样本后15个工作日内")
    assert f"content/services.yaml 第 {line} 行" in message
    assert "services[2](genetic_testing).flow[5](report).detail" in message
    assert "这段文字写着“15个工作日”，但本服务的时效承诺是 12 个工作日。" in message
    assert "怎么改：把这段文字里的天数改成与 promises（或 advance_booking）一致的天数。" in message
    edit(content_copy, "services.yaml", "实验室收到样本后15个工作日内",
         "实验室收到样本后12个工作日内")
    kinds, text = changes_of(content_copy)
    assert kinds == ["promise_changed", "flow_step_changed"]
    assert ("基因检测—靶向用药解读·出具电子版、纸质版检测报告："
            "15个工作日 → 12个工作日（缩短）") in text
    assert "基因检测—靶向用药解读：流程步骤“出具检测报告，精准靶向用药解读”的说明有改动" in text


def test_promise_added_and_removed(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", """      - id: billing_reply
        use: direct_billing
        working_days: 3
        starts_after: [request]
        promise: 回复是否启动直付服务
""", """      - id: billing_reply_new
        use: direct_billing
        working_days: 2
        starts_after: [records_complete]
        promise: 回复是否启动直付服务
""")
    edit(content_copy, "services.yaml", "        promises: [billing_reply]\n",
         "        promises: [billing_reply_new]\n")
    edit(content_copy, "services.yaml", "3个工作日内，回复", "2个工作日内，回复")
    kinds, text = changes_of(content_copy)
    assert "promise_added" in kinds and "promise_removed" in kinds
    assert "新增时效承诺：住院保险直付·回复是否启动直付服务：病历资料收集完整后2个工作日内" in text
    assert "删除时效承诺：住院保险直付·回复是否启动直付服务：提交申请后3个工作日内" in text
    assert "流程步骤“确认启动直付服务”的说明、关联的时效承诺有改动" in text


def test_advance_booking_change(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", "    advance_booking:\n      working_days: 5",
         "    advance_booking:\n      working_days: 4")
    # its sentence still says 5: refused until it says 4 too
    with pytest.raises(ContentError) as broken:
        load_content(content_copy)
    message = str(broken.value)
    assert "services[3](direct_billing).advance_booking.text" in message
    assert "这段文字写着“5个工作日”，但本服务的时效承诺是 3、4 个工作日。" in message
    edit(content_copy, "services.yaml", "被保险人需要提前5个工作日预约",
         "被保险人需要提前4个工作日预约")
    kinds, text = changes_of(content_copy)
    assert kinds == ["advance_booking_changed", "text_changed"]
    assert "住院保险直付·提前预约：5个工作日 → 4个工作日" in text
    assert ("住院保险直付·提前预约说明：“被保险人需要提前5个工作日预约住院直付服务。” → "
            "“被保险人需要提前4个工作日预约住院直付服务。”") in text


def test_documents_optional_and_removed(content_copy: Path) -> None:
    edit(content_copy, "services.yaml",
         "      - id: medical_record_copy\n        required: true\n      - id: outpatient_record\n",
         "      - id: medical_record_copy\n      - id: outpatient_record\n")
    edit(content_copy, "services.yaml",
         "      - id: mri_report\n      - id: pathology_report\n    samples_note:",
         "      - id: pathology_report\n    samples_note:")
    kinds, text = changes_of(content_copy)
    assert sorted(kinds) == ["document_optional", "document_removed"]
    assert "住院保险直付：“病历本复印件”改为可选资料（不再必须递交）" in text
    assert "基因检测—靶向用药解读：不再列出资料“MRI报告”" in text


def test_document_rename_reaches_every_service_using_it(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", "    name: CT报告\n", "    name: CT检查报告\n")
    report = compare(load_content(CONTENT), load_content(content_copy), today=TODAY)
    assert [c.text for c in report.changes] == ["资料名称“CT报告”改为“CT检查报告”"]
    assert [p for p, _ in report.pages] == [
        "services/green_channel", "services/second_opinion", "services/genetic_testing",
        "services/direct_billing"]


def test_sample_removed_and_renamed(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", "      - id: saliva\n        name: 唾液\n", "")
    edit(content_copy, "services.yaml", "        name: 外周血\n", "        name: 外周血（抽血）\n")
    _, text = changes_of(content_copy)
    assert "基因检测—靶向用药解读：删除样本类型“唾液”" in text
    assert "样本类型“外周血”改名为“外周血（抽血）”" in text


def test_flow_steps_added_removed_and_reordered(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", """      - id: guide_sample
        title: 指导被保险人提供基因检测样本
        actor: service
        detail: 依据检测项目不同，会指导被保险人提供组织切片、血液等具体样本。
""", """      - id: sample_kit
        title: 寄送采样包
        actor: service
        detail: 向被保险人寄送采样包和说明。
""")
    kinds, text = changes_of(content_copy)
    assert sorted(kinds) == ["flow_step_added", "flow_step_removed"]
    assert "基因检测—靶向用药解读：新增流程步骤“寄送采样包”" in text
    assert "基因检测—靶向用药解读：删除流程步骤“指导被保险人提供基因检测样本”" in text


def test_note_changed_added_removed(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", "        text: 由合作医院安排就医，但不承诺指定医生。\n",
         "        text: 由合作医院安排就医，但不承诺指定医生，医生由医院安排。\n")
    edit(content_copy, "services.yaml",
         "      - kind: rule\n        text: 被保险人需要同时签署直付/理赔授权书。\n", "")
    _, text = changes_of(content_copy)
    assert ("就医绿色通道：服务声明“由合作医院安排就医，但不承诺指定医生。” 改为服务声明"
            "“由合作医院安排就医，但不承诺指定医生，医生由医院安排。”") in text
    assert "住院保险直付：删除服务规则“被保险人需要同时签署直付/理赔授权书。”" in text


def test_hospital_moves_city_and_changes_services(content_copy: Path) -> None:
    edit(content_copy, "hospitals.yaml",
         "short_name: 301医院, city: beijing, services: [green_channel]}",
         "short_name: 301医院, city: tianjin, services: [green_channel, direct_billing]}")
    report = compare(load_content(CONTENT), load_content(content_copy), today=TODAY)
    text = render_text(report)
    assert "中国人民解放军总医院：城市 北京 → 天津" in text
    assert "中国人民解放军总医院：可提供的服务新增直付（绿通 → 绿通、直付）" in text
    assert [p for p, _ in report.pages] == ["services/direct_billing", "coverage", "hospitals"]


def test_city_removed_with_its_hospitals(content_copy: Path) -> None:
    edit(content_copy, "cities.yaml", "  - {id: dalian,    name: 大连, province: 辽宁省}\n", "")
    path = content_copy / "hospitals.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if "city: dalian" not in x), encoding="utf-8")
    _, text = changes_of(content_copy)
    assert "不再覆盖城市：大连（辽宁省）" in text
    assert "删除合作医院 2 家（大连：大连医科大学附属第一医院、大连医科大学附属第二医院）" in text
    assert "首页 index" in text and "覆盖城市页面 coverage" in text
    assert "合作医院名单页面 hospitals" in text


def test_hotline_and_waiting_period(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", '    display: 400-606-5033\n    tel: "4006065033"',
         '    display: 400-606-5034\n    tel: "4006065034"')
    edit(content_copy, "services.yaml", "  waiting_period_days: 90", "  waiting_period_days: 60")
    report = compare(load_content(CONTENT), load_content(content_copy), today=TODAY)
    text = render_text(report)
    assert "服务热线：400-606-5033（4006065033） → 400-606-5034（4006065034）" in text
    assert "等待期：90天 → 60天" in text
    assert [p for p, _ in report.pages][0] == "index"
    assert len(report.pages) == 5  # hotline: home page and every service page


def test_calendar_year_lost_and_changed(content_copy: Path, tmp_path: Path) -> None:
    year = """years:
  2027:
    notice: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
"""
    edit(content_copy, "calendar.yaml", "years: {}\n", year)
    with_2027 = load_content(content_copy)
    report = compare(with_2027, load_content(CONTENT), today=TODAY)
    assert [c.kind for c in report.changes] == ["calendar_official_removed"]
    assert "2027 年不再有正式放假安排" in render_text(report)
    assert [p for p, _ in report.pages] == ["working-days"]

    edit(content_copy, "calendar.yaml", "\n      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}",
         "\n      - {name: 元旦, from: 2027-01-01, to: 2027-01-02}")
    report = compare(with_2027, load_content(content_copy), today=TODAY)
    assert [c.text for c in report.changes] == [
        "2027 年的放假或调休日期有改动：落在这一年的承诺日期可能随之改变"]


def test_pages_convention() -> None:
    content = load_content(CONTENT)
    assert pages_for(service_area("green_channel"), content) == [
        ("services/green_channel", "服务页面 services/green_channel（就医绿色通道）")]
    assert pages_for(COVERAGE) == [("coverage", "覆盖城市页面 coverage"),
                                   ("hospitals", "合作医院名单页面 hospitals")]
    assert pages_for(CALENDAR) == [("working-days", "工作日说明页面 working-days")]
    assert pages_for(HOME) == [("index", "首页 index")]
    with pytest.raises(ValueError):
        pages_for("nowhere")


# -- the command ---------------------------------------------------------------------------
def test_diff_refuses_invalid_content_in_chinese(content_copy: Path) -> None:
    edit(content_copy, "services.yaml", 'tel: "4006065033"', "tel: 4006065033")
    result = run_rules("diff", CONTENT, content_copy)
    assert result.returncode == 1
    assert "没有通过检查，无法比较" in result.stderr
    assert "这里应该是文字，现在是 4006065033" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, content_copy: Path) -> Path:
    """A git repository whose first commit holds the content and whose second shortens a promise
    (and the flow step text stating it, or the check would refuse the commit's content)."""
    root = tmp_path / "repo"
    root.mkdir()
    content_copy.rename(root / "content")
    _git(root, "init", "-q")
    _git(root, "add", "content")
    _git(root, "commit", "-q", "-m", "content")
    edit(root / "content", "services.yaml", "        working_days: 10\n        starts_after: "
         "[records_complete]", "        working_days: 8\n        starts_after: [records_complete]")
    edit(root / "content", "services.yaml", "detail: 10个工作日内专家出具",
         "detail: 8个工作日内专家出具")
    _git(root, "commit", "-q", "-am", "shorter second opinion")
    return root


def test_diff_head_against_working_tree(repo: Path) -> None:
    content = repo / "content"
    result = run_rules("diff", "--content", content)
    assert result.returncode == 0, result.stderr
    assert "内容没有变化" in result.stdout
    assert "版本 HEAD" in result.stdout

    edit(content, "hospitals.yaml",
         "  - {id: sz-people, name: 深圳市人民医院, short_name: 深圳人民医院, city: shenzhen, "
         "services: [green_channel]}\n", "")
    result = run_rules("diff", "--content", content)
    assert "删除合作医院 1 家（深圳：深圳市人民医院）" in result.stdout
    assert "第二诊疗意见" not in result.stdout  # committed already: not a working-tree change


def test_diff_one_and_two_revisions(repo: Path) -> None:
    content = repo / "content"
    one = run_rules("diff", "HEAD~1", "--content", content)
    assert one.returncode == 0, one.stderr
    assert "第二诊疗意见·由专家出具第二诊疗意见报告：10个工作日 → 8个工作日（缩短）" in one.stdout
    assert "第二诊疗意见：流程步骤“出具第二诊疗意见报告”的说明有改动" in one.stdout
    assert "当前内容" in one.stdout

    two = run_rules("diff", "HEAD", "HEAD~1", "--content", content, "--json")
    data = json.loads(two.stdout)
    assert data["changed"] is True
    assert [(c["kind"], c["details"]) for c in data["changes"]] == [
        ("promise_changed", {"service": "second_opinion", "promise": "opinion_report",
                             "field": "working_days", "old": 8, "new": 10}),
        ("flow_step_changed", {"service": "second_opinion", "step": "report",
                               "fields": ["detail"]})]
    assert data["note"] == REQUESTS_NOTE
    assert data["old_version"] != data["new_version"]


def test_diff_of_real_repository_runs() -> None:
    """No arguments: this repository's HEAD against its working tree."""
    result = run_rules("diff")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("比较：版本 HEAD")


def test_diff_unknown_revision(repo: Path, tmp_path: Path) -> None:
    result = run_rules("diff", "no-such-revision-xyz", "--content", repo / "content")
    assert result.returncode == 2
    assert "找不到版本“no-such-revision-xyz”" in result.stderr

    outside = tmp_path / "outside" / "content"
    outside.parent.mkdir()
    (repo / "content").rename(outside)
    result = run_rules("diff", "HEAD", "--content", outside)
    assert result.returncode == 2
    assert "不在 git 版本库里，无法读取历史版本" in result.stderr
