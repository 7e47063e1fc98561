"""Every recipe in content/README.md, applied to a copy of the content the way an editor would:
the check passes and the "what changed" summary names the change in Chinese."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from editors_guide import ROOT, apply, diff_examples, examples, normalise, run_rules

from service_rules import load_rules
from service_rules.changes import REQUESTS_NOTE
from service_rules.deadlines import add_working_days

CONTENT = ROOT / "content"

# What the diff must say for each recipe in the guide (one entry per recipe, no more, no less).
EXPECTED: dict[str, list[str]] = {
    "add-hospital": ["覆盖城市和医院：", "新增合作医院 1 家（北京：北京医院）",
                     "合作医院名单页面 hospitals"],
    "add-city": ["新增覆盖城市：西安（陕西省）",
                 "新增合作医院 1 家（西安：空军军医大学西京医院）", "覆盖城市页面 coverage"],
    "remove-hospital": ["删除合作医院 1 家（上海：上海市胸科医院）"],
    "change-promise": ["就医绿色通道·安排门诊：5个工作日 → 7个工作日",
                       "服务页面 services/green_channel（就医绿色通道）"],
    "add-document": ["第二诊疗意见：新增可选资料“PET-CT报告”",
                     "服务页面 services/second_opinion（第二诊疗意见）"],
    "require-document": ["基因检测—靶向用药解读：“病理报告”改为必须递交的资料",
                         "服务页面 services/genetic_testing"],
    "add-sample": ["基因检测—靶向用药解读：新增样本类型“胸水或腹水”"],
    "add-year": ["2027 年有了正式放假安排", "不再标注“暂定”", "工作日说明页面 working-days"],
}

RECIPES = {k: v for k, v in examples().items() if v.kind == "recipe"}


def test_every_recipe_in_the_guide_is_tested() -> None:
    assert set(RECIPES) == set(EXPECTED) == set(SITE_SHOWS)


def _applied(recipe_id: str, content_copy: Path) -> Path:
    apply(RECIPES[recipe_id], content_copy)
    return content_copy


@pytest.mark.parametrize("recipe_id", sorted(EXPECTED))
def test_recipe_passes_check_and_diff_names_it(recipe_id: str, content_copy: Path) -> None:
    edited = _applied(recipe_id, content_copy)

    check = run_rules("check", "--content", edited)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "检查通过" in check.stdout  # so no prose still states an old number of days

    diff = run_rules("diff", CONTENT, edited)
    assert diff.returncode == 0, diff.stderr
    for phrase in EXPECTED[recipe_id]:
        assert phrase in diff.stdout, f"{phrase!r} missing from:\n{diff.stdout}"
    assert REQUESTS_NOTE in diff.stdout
    assert "Traceback" not in diff.stderr


def test_diff_example_in_the_guide_is_the_real_output(content_copy: Path) -> None:
    shown = diff_examples()
    assert set(shown) <= set(RECIPES)
    assert shown, "the guide shows at least one diff output"
    for recipe_id, text in shown.items():
        edited = _applied(recipe_id, content_copy)
        diff = run_rules("diff", CONTENT, edited)
        assert normalise(text) in normalise(diff.stdout), diff.stdout
        shutil.rmtree(edited)
        shutil.copytree(CONTENT, edited)


# What the check says when only the number of the change-promise recipe was changed.
STALE_FLOW_TEXT = (
    "[错误] content/services.yaml 第 {line} 行"
    "（services[0](green_channel).flow[4](notify_appointment).detail）："
    "这段文字写着“5个工作日”，但本服务的时效承诺是 7、10 个工作日。\n"
    "    怎么改：把这段文字里的天数改成与 promises（或 advance_booking）一致的天数。")


def test_half_done_promise_change_is_refused(content_copy: Path) -> None:
    """Only the number changed, not the flow text: the check refuses the content and names
    the sentence that still says 5 (file, line, path, fix); the diff does not compare."""
    recipe = RECIPES["change-promise"]
    assert len(recipe.edits) == 2, "the recipe changes the number and the flow text"
    half = type(recipe)(recipe.kind, recipe.id, recipe.edits[:1])
    apply(half, content_copy)

    check = run_rules("check", "--content", content_copy)
    assert check.returncode == 1
    line = next(i for i, text in enumerate(
        (content_copy / "services.yaml").read_text(encoding="utf-8").splitlines(), 1)
        if "门诊在客户预约申请后5个工作日内" in text)
    expected = STALE_FLOW_TEXT.format(line=line)
    assert normalise(expected) in normalise(check.stderr), check.stderr
    assert "共发现 1 处错误" in check.stderr
    assert "检查通过" not in check.stdout

    diff = run_rules("diff", CONTENT, content_copy)
    assert diff.returncode == 1
    assert diff.stdout == ""
    assert "没有通过检查，无法比较" in diff.stderr
    assert normalise(expected) in normalise(diff.stderr), diff.stderr
    assert "Traceback" not in check.stderr + diff.stderr


def test_promise_recipe_in_json(content_copy: Path) -> None:
    edited = _applied("change-promise", content_copy)
    diff = run_rules("diff", CONTENT, edited, "--json")
    data = json.loads(diff.stdout)
    promise = [c for c in data["changes"] if c["kind"] == "promise_changed"]
    assert promise == [{
        "kind": "promise_changed", "section": "时效承诺", "areas": ["service:green_channel"],
        "text": "就医绿色通道·安排门诊：5个工作日 → 7个工作日（延长）",
        "details": {"service": "green_channel", "promise": "outpatient_arranged",
                    "field": "working_days", "old": 5, "new": 7},
    }]
    page = {"path": "services/green_channel",
            "label": "服务页面 services/green_channel（就医绿色通道）"}
    assert page in data["pages"]


def test_year_recipe_makes_2027_official_and_counts_makeup_days(content_copy: Path) -> None:
    before = load_rules(CONTENT, today=dt.date(2026, 11, 24))
    edited = _applied("add-year", content_copy)
    after = load_rules(edited, today=dt.date(2026, 11, 24))
    assert not before.calendar.is_official(2027)
    assert after.calendar.is_official(2027)
    # 2027-04-30 (Fri), then 1-5 May off, 6 Thu, 7 Fri, 8 Sat (make-up), 10 Mon, 11 Tue
    due = add_working_days(after.calendar, dt.date(2027, 4, 30), 5)
    assert due.date == dt.date(2027, 5, 11)
    assert not due.provisional
    assert add_working_days(before.calendar, dt.date(2027, 4, 30), 5).provisional

    check = run_rules("check", "--content", edited)
    assert "还没有 2027 年的正式放假安排" not in check.stdout


def _site_build_available() -> bool:
    if not (ROOT / "build_scripts" / "__main__.py").exists():
        return False
    helptext = subprocess.run([sys.executable, "-m", "build_scripts", "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60).stdout
    return all(option in helptext for option in ("--content", "--docs-dir", "--site-dir"))


@pytest.fixture(scope="module")
def site_with_every_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One site built (render + mkdocs build --strict) from content with every recipe applied.
    The recipes touch different parts of the content, so one build shows each of them; the
    check and the diff above still run once per recipe."""
    if not _site_build_available():
        pytest.skip("python -m build_scripts --content DIR --site-dir DIR does not exist yet")
    work = tmp_path_factory.mktemp("recipes")
    edited = work / "content"
    shutil.copytree(CONTENT, edited)
    for recipe_id in sorted(EXPECTED):
        apply(RECIPES[recipe_id], edited)
    site = work / "site"
    result = subprocess.run(
        [sys.executable, "-m", "build_scripts", "--content", str(edited),
         "--docs-dir", str(work / "docs"), "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").exists()
    return site


@pytest.mark.parametrize("recipe_id", sorted(EXPECTED))
def test_recipe_site_builds(recipe_id: str, site_with_every_recipe: Path) -> None:
    """The site still builds after the recipe's edit, and the page it changes shows it."""
    page, text, present = SITE_SHOWS[recipe_id]
    html = next(p for p in (site_with_every_recipe / page / "index.html",
                            site_with_every_recipe / f"{page}.html") if p.exists())
    assert (text in html.read_text(encoding="utf-8")) == present, (page, text)


# A page that must show (True) or no longer show (False) the recipe's change once built.
SITE_SHOWS: dict[str, tuple[str, str, bool]] = {
    "add-hospital": ("hospitals", "北京医院", True),
    "add-city": ("coverage", "西安", True),
    "remove-hospital": ("hospitals", "上海市胸科医院", False),
    "change-promise": ("services/green_channel", "7个工作日", True),
    "add-document": ("services/second_opinion", "PET-CT报告", True),
    "add-sample": ("services/genetic_testing", "胸水或腹水", True),
    "require-document": ("services/genetic_testing",
                         '病理报告<span class="cc-tag cc-tag--required">必须提交</span>', True),
    "add-year": ("working-days", "国务院办公厅关于2027年部分节假日安排的通知", True),
}
