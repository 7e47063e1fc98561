"""Render content into Markdown pages under a docs folder with Jinja2.

Generated pages are build output (git-ignored); hand-written files in `docs/` are left alone.
Pages state only what the content says: promises through `service_rules.wording`, calendar
years through `WorkCalendar.arrangement`, so a content change shows on every page at once.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from service_rules import Rules, load_rules
from service_rules.deadlines import shanghai_today
from service_rules.models import ACTOR_NAMES, Content, Promise, Service
from service_rules.wording import (
    COUNTING_RULE,
    clock_start_phrase,
    promise_sentence,
)
from service_rules.workcalendar import HolidayPeriod, YearArrangementView

from .faq import faq_sections
from .search_terms import user_dictionary

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"

# Generated paths, relative to the docs folder. Everything else in docs/ is hand-written.
GENERATED_FILES = ("index.md", "coverage.md", "hospitals.md", "working-days.md", "faq.md",
                   "privacy.md")
GENERATED_DIRS = ("services", "generated")
JIEBA_USER_DICT = "generated/jieba_user_dict.txt"

WEEKDAYS = "一二三四五六日"


@dataclass
class Rendered:
    """What `render` wrote: the docs folder, page paths (relative) and the search dictionary."""

    docs_dir: Path
    pages: list[str] = field(default_factory=list)
    jieba_user_dict: Path | None = None


def apply_base_from_env() -> str:
    """`APPLY_BASE_URL` (e.g. https://forms.example.cn) without a trailing slash; '' = same host."""
    return os.environ.get("APPLY_BASE_URL", "").strip().rstrip("/")


# -- formatting helpers (plain Chinese) ---------------------------------------------------
def cn_date(day: dt.date, *, weekday: bool = True, year: bool = True) -> str:
    text = f"{day.year}年" if year else ""
    text += f"{day.month}月{day.day}日"
    if weekday:
        text += f"（周{WEEKDAYS[day.weekday()]}）"
    return text


def cn_period(period: HolidayPeriod) -> str:
    days = (period.end - period.start).days + 1
    if days == 1:
        return f"{cn_date(period.start)}，共1天"
    same_year = period.start.year == period.end.year
    return (f"{cn_date(period.start)}至{cn_date(period.end, year=not same_year)}，"
            f"共{days}天")


def md_text(value: object) -> str:
    """Escape characters that Markdown would read as markup in a plain sentence."""
    text = str(value)
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def clock_start_explained(content: Content, promise: Promise) -> str:
    """What starts the clock: 计时起点：“提交申请”的那一天；当天不计入，从下一天开始数。"""
    events = [content.event_by_id[e] for e in promise.starts_after]
    if len(events) == 1:
        return f"计时起点：“{events[0].name}”的那一天；当天不计入，从下一天开始数工作日。"
    names = "和".join(f"“{e.name}”" for e in events)
    return (f"计时起点：{names}中较晚的那一天，两件事都完成后才开始计算；"
            "当天不计入，从下一天开始数工作日。")


def uses_phrase(service: Service) -> str:
    """门诊预约、住院预约各1次 / 1次."""
    times = {u.times for u in service.uses}
    if len(service.uses) == 1:
        return f"{service.uses[0].name}{service.uses[0].times_text}"
    if len(times) == 1:
        return f"{'、'.join(u.name for u in service.uses)}各{service.uses[0].times_text}"
    return "、".join(f"{u.name}{u.times_text}" for u in service.uses)


# -- calendar example ---------------------------------------------------------------------
@dataclass(frozen=True)
class CountingExample:
    start: dt.date
    due: dt.date
    working_days: int
    holiday: str


def counting_example(rules: Rules, year: int) -> CountingExample | None:
    """A worked example around the year's longest holiday: the day before it, + N working days."""
    if not rules.content.services or not rules.content.services[0].promises:
        return None
    promise = rules.content.services[0].promises[0]
    view = rules.calendar.arrangement(year)
    if not view.holidays:
        return None
    longest = max(view.holidays, key=lambda p: ((p.end - p.start).days, -p.start.toordinal()))
    start = longest.start - dt.timedelta(days=1)
    due = rules.calendar.add_workdays(start, promise.working_days)
    return CountingExample(start, due, promise.working_days, longest.name)


# -- flow ------------------------------------------------------------------------------------
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("build_scripts", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False,
                                     default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md_text
    env.filters["cn_date"] = cn_date
    env.filters["cn_period"] = cn_period
    return env


def flow_html(env: Environment, content: Content, service: Service) -> Markup:
    """The service's flow as an ordered list styled as a vertical diagram (one line of HTML)."""
    steps = []
    for step in service.flow:
        steps.append({
            "step": step,
            "actor": ACTOR_NAMES[step.actor],
            "promises": [promise_sentence(content, service.promise(p)) for p in step.promises],
        })
    html = env.get_template("flow.html.j2").render(service=service, steps=steps)
    # Raw HTML inside Markdown must not contain blank lines; keep it on few lines.
    return Markup("\n".join(line.strip() for line in html.splitlines() if line.strip()))


# -- pages -----------------------------------------------------------------------------------
def _context(rules: Rules, apply_base: str, today: dt.date) -> dict:
    content = rules.content
    this_year = today.year
    years: list[YearArrangementView] = [rules.calendar.arrangement(y)
                                        for y in (this_year, this_year + 1)]
    return {
        "content": content,
        "product": content.product,
        "hotline": content.product.hotline,
        "services": content.services,
        "apply_base": apply_base,
        "status_url": f"{apply_base}/status",
        "counting_rule": COUNTING_RULE,
        "years": years,
        "this_year": this_year,
        "example": counting_example(rules, this_year),
        "first_promise": (content.services[0].promises[0]
                          if content.services and content.services[0].promises else None),
        "provinces": content.provinces(),
        "sample_data": content.hospitals_file.sample_data,
        "promise_sentence": lambda p: promise_sentence(content, p),
        "clock_start": lambda p: clock_start_explained(content, p),
        "clock_phrase": lambda p: clock_start_phrase(content, p),
        "uses_phrase": uses_phrase,
        "document_name": lambda d: content.document_by_id[d.id].name,
        "apply_url": lambda s: f"{apply_base}/apply/{s.id}",
        "hospitals_in": content.hospitals_in,
        "hospital_services": lambda h: "、".join(
            content.service(sid).short_name for sid in h.services if sid in content.service_by_id),
        "faq": faq_sections(content),
        "privacy": content.privacy_file,
    }


def clean_generated(docs_dir: Path) -> None:
    """Remove earlier build output (a removed service must not leave a stale page)."""
    for name in GENERATED_FILES:
        (docs_dir / name).unlink(missing_ok=True)
    for name in GENERATED_DIRS:
        shutil.rmtree(docs_dir / name, ignore_errors=True)


def copy_handwritten(source: Path, target: Path) -> None:
    """Copy hand-written docs (styles, scripts, pages) into a separate docs folder."""
    if source.resolve() == target.resolve():
        return
    ignore_top = set(GENERATED_FILES) | set(GENERATED_DIRS)

    def ignore(directory: str, names: list[str]) -> set[str]:
        if Path(directory).resolve() == source.resolve():
            return {n for n in names if n in ignore_top}
        return set()

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=ignore)


def render(content_dir: Path | str | None = None, docs_dir: Path | str = DOCS_DIR, *,
           apply_base: str | None = None, today: dt.date | None = None,
           rules: Rules | None = None) -> Rendered:
    """Validate content and write the generated Markdown pages into `docs_dir`.

    When `docs_dir` is not the repository's `docs/`, the hand-written files are copied there
    first, so the folder is a complete docs tree for `mkdocs build`.
    Raises `service_rules.ContentError` when the content has problems.
    """
    today = today or shanghai_today()
    rules = rules or load_rules(content_dir, today=today)
    apply_base = apply_base_from_env() if apply_base is None else apply_base.rstrip("/")
    docs_dir = Path(docs_dir)
    copy_handwritten(DOCS_DIR, docs_dir)
    clean_generated(docs_dir)

    env = environment()
    ctx = _context(rules, apply_base, today)
    result = Rendered(docs_dir)

    def write(rel: str, template: str, **extra: object) -> None:
        path = docs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = env.get_template(template).render(**ctx, **extra)
        path.write_text(text, encoding="utf-8")
        result.pages.append(rel)

    write("index.md", "index.md.j2")
    for service in rules.content.services:
        write(f"services/{service.id}.md", "service.md.j2", service=service,
              flow=flow_html(env, rules.content, service))
    write("coverage.md", "coverage.md.j2")
    write("hospitals.md", "hospitals.md.j2")
    write("working-days.md", "working-days.md.j2")
    write("faq.md", "faq.md.j2")
    if rules.content.privacy_file.present:
        write("privacy.md", "privacy.md.j2")

    dict_path = docs_dir / JIEBA_USER_DICT
    dict_path.parent.mkdir(parents=True, exist_ok=True)
    dict_path.write_text(user_dictionary(rules.content), encoding="utf-8")
    result.jieba_user_dict = dict_path
    return result
