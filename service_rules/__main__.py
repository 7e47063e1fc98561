"""Command line for editors and staff.

    python -m service_rules check [--content DIR]
    python -m service_rules add-workdays 2026-09-29 5 [--json]
    python -m service_rules diff [OLD] [NEW] [--json] [--content DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from . import load_rules
from .deadlines import add_working_days, shanghai_today
from .problems import ContentError, Problem, render_problems
from .workcalendar import CalendarRangeError


def calendar_warnings(rules, today: dt.date) -> list[Problem]:
    """Warn when next year's official arrangement is not in the calendar yet."""
    warnings = []
    for year in (today.year, today.year + 1):
        if not rules.calendar.is_official(year):
            warnings.append(Problem(
                "content/calendar.yaml", f"years.{year}",
                f"还没有 {year} 年的正式放假安排，这一年的承诺日期按法定节假日推算，标注为“暂定”。",
                f"国务院办公厅公布《关于{year}年部分节假日安排的通知》后，"
                f"在 years 下添加 {year} 年的放假和调休日期（见 content/README.md）。",
                severity="warning"))
    return warnings


def cmd_check(args: argparse.Namespace) -> int:
    today = shanghai_today()
    try:
        rules = load_rules(args.content, today=today)
    except ContentError as exc:
        print(render_problems(exc.problems), file=sys.stderr)
        print("检查未通过。", file=sys.stderr)
        return 1
    content = rules.content
    warnings = calendar_warnings(rules, today)
    if warnings:
        print(render_problems(warnings))
    years = rules.calendar.official_years
    print(f"检查通过：{len(content.services)} 项服务，"
          f"{sum(len(s.promises) for s in content.services)} 项时效承诺，"
          f"{len(content.cities)} 个城市，{len(content.hospitals)} 家医院，"
          f"正式放假安排 {years[0]}–{years[-1]} 年。内容版本 {content.version}。")
    return 0


def cmd_add_workdays(args: argparse.Namespace) -> int:
    try:
        start = dt.date.fromisoformat(args.date)
    except ValueError:
        print(f"日期“{args.date}”无法识别，请写成 年-月-日，例如 2026-09-29。", file=sys.stderr)
        return 2
    if args.days < 1:
        print("工作日天数必须是正整数，例如 5。", file=sys.stderr)
        return 2
    rules = load_rules(args.content)
    try:
        deadline = add_working_days(rules.calendar, start, args.days)
    except CalendarRangeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(deadline.as_dict(), ensure_ascii=False))
    else:
        print(deadline.date.isoformat())
        for note in deadline.notes():
            print(note)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .changes import run_diff
    from .loader import default_content_dir

    workdir = Path(args.content) if args.content else default_content_dir()
    return run_diff(args.old, args.new, workdir, as_json=args.json, today=shanghai_today(),
                    out=sys.stdout, err=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service_rules",
                                     description="检查内容文件；计算工作日。")
    parser.add_argument("--content", help="内容目录（默认 content/）")
    sub = parser.add_subparsers(dest="command", required=True)
    # `--content` is also accepted after the subcommand (check --content DIR)
    content_opt = argparse.ArgumentParser(add_help=False)
    content_opt.add_argument("--content", default=argparse.SUPPRESS,
                             help="内容目录（默认 content/）")
    sub.add_parser("check", help="检查 content/ 下的全部内容", parents=[content_opt])
    diff = sub.add_parser("diff", parents=[content_opt],
                          help="说明内容改了什么：默认比较上一次提交（HEAD）和当前内容")
    diff.add_argument("old", nargs="?", help="旧版本：git 提交（默认 HEAD）或内容目录")
    diff.add_argument("new", nargs="?", help="新版本：git 提交或内容目录（默认当前内容）")
    diff.add_argument("--json", action="store_true")
    add = sub.add_parser("add-workdays", help="某日之后第 N 个工作日", parents=[content_opt])
    add.add_argument("date")
    add.add_argument("days", type=int)
    add.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return cmd_check(args)
        if args.command == "diff":
            return cmd_diff(args)
        return cmd_add_workdays(args)
    except ContentError as exc:
        print(render_problems(exc.problems), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
