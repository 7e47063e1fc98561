"""Load every content file into `Content`, turning all problems into Chinese messages."""

from __future__ import annotations

import difflib
import hashlib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .models import (
    CalendarFile,
    CitiesFile,
    Content,
    HospitalsFile,
    PrivacyFile,
    RosterFile,
    ServicesFile,
)
from .problems import ContentError, Problem
from .yaml_source import line_of, path_text, read_yaml

FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "services": ("services.yaml", ServicesFile),
    "cities": ("cities.yaml", CitiesFile),
    "hospitals": ("hospitals.yaml", HospitalsFile),
    "calendar": ("calendar.yaml", CalendarFile),
    "roster": ("roster.yaml", RosterFile),
    "privacy": ("privacy.yaml", PrivacyFile),
}
# files that may be absent (then their defaults apply): content from before they existed
OPTIONAL_FILES = frozenset({"roster", "privacy"})


def default_content_dir() -> Path:
    """`CONTENT_DIR` from the environment, else `content/` beside the package."""
    env = os.environ.get("CONTENT_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "content"


def _display(directory: Path, filename: str) -> str:
    return f"{directory.name}/{filename}"


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    """Chinese message and fix for one pydantic error."""
    kind = err["type"]
    value = err.get("input")
    field = next((str(x) for x in reversed(err["loc"]) if isinstance(x, str)), "")
    shown = repr(value) if not isinstance(value, dict | list) else "一组内容"
    ctx = err.get("ctx") or {}
    if kind == "times":
        return (f"使用次数 {ctx.get('value')} 不对。",
                "写成正整数（例如 1），手册没有限定次数的写 unlimited（不限次数）。")
    if kind == "missing":
        return f"缺少必填项“{field}”。", f"在这一项下面补上“{field}: ……”。可参照同类的其他条目。"
    if kind == "extra_forbidden":
        return (f"不认识的项“{field}”，可能是拼写错误。",
                "请核对拼写（区分大小写），或删除这一行。可参照同类的其他条目的写法。")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"这里应该是整数，现在是 {shown}。", "写成不带引号和小数点的数字，例如 5。"
    if kind == "greater_than":
        return (f"这里必须大于 {ctx.get('gt')}，现在是 {shown}。",
                "工作日天数等数字必须是正整数，例如 5。")
    if kind in ("greater_than_equal", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("le", ctx.get("lt")))
        return f"数值 {shown} 超出允许范围（界限 {bound}）。", "请核对这个数字。"
    if kind in ("string_type",):
        return (f"这里应该是文字，现在是 {shown}。",
                "写成文字；纯数字的文字请加英文引号，例如 \"4006065033\"。")
    if kind == "string_too_short":
        return "这里不能为空。", "请填写内容。"
    if kind == "string_pattern_mismatch":
        if field in ("tel",):
            return (f"电话号码 {shown} 格式不对。",
                    "只写数字，不要空格和横线，并加英文引号，例如 \"4006065033\"。")
        return (f"编号 {shown} 格式不对。",
                "编号只能用小写英文字母、数字、横线和下划线，例如 green_channel 或 bj-pumch。")
    if kind in ("bool_type", "bool_parsing"):
        return f"这里只能写 true 或 false，现在是 {shown}。", "是写 true，否写 false。"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"日期 {shown} 无法识别。", "日期写成 年-月-日，例如 2027-01-01（不加引号）。"
    if kind in ("list_type", "too_short"):
        if kind == "too_short":
            return "这个列表不能为空。", "至少写一项。"
        return (f"这里应该是一个列表（每行以“- ”开头），现在是 {shown}。",
                "参照其他条目，把每一项写成“- ”开头的一行。")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"这里应该是一组“名称: 值”的内容，现在是 {shown}。", "参照同类的其他条目改写。"
    if kind == "literal_error":
        return (f"{shown} 不是允许的值。", f"只能写以下之一：{ctx.get('expected', '')}。")
    if kind == "int_parsing_size" or kind == "dict_keys":
        return f"{shown} 不是有效的键。", "请核对。"
    return f"内容不符合要求（{err.get('msg')}）。", "参照同类的其他条目改写。"


def _problems_from_validation(exc: ValidationError, data: Any, display: str) -> list[Problem]:
    errors = exc.errors(include_url=False)
    # a typo shows up as an unknown key plus a missing one beside it: name the likely intent
    missing = {}
    for err in errors:
        if err["type"] == "missing":
            missing.setdefault(tuple(err["loc"][:-1]), []).append(str(err["loc"][-1]))
    problems = []
    for err in errors:
        loc = tuple(err["loc"])
        message, fix = _describe(err)
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), missing.get(loc[:-1], []), n=1)
            if close:
                fix = f"是不是想写“{close[0]}”？请改正拼写。"
        problems.append(Problem(display, path_text(data, loc), message, fix, line_of(data, loc)))
    return problems


def load_content(directory: Path | str | None = None) -> Content:
    """Load and validate all content; raises ContentError listing every problem found."""
    directory = Path(directory) if directory is not None else default_content_dir()
    problems: list[Problem] = []
    raw: dict[str, Any] = {}
    parsed: dict[str, BaseModel] = {}
    digest = hashlib.sha256()
    for key, (filename, model) in FILES.items():
        display = _display(directory, filename)
        path = directory / filename
        if key in OPTIONAL_FILES and not path.exists():
            absent = getattr(model, "absent", None)
            raw[key], parsed[key] = {}, absent() if absent else model()
            continue
        try:
            data = read_yaml(path, display)
            digest.update(path.read_bytes())
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if data is None:
            data = {}
        raw[key] = data
        try:
            parsed[key] = model.model_validate(data)
        except ValidationError as exc:
            problems.extend(_problems_from_validation(exc, data, display))
    if problems:
        raise ContentError(problems)
    content = Content(
        services_file=parsed["services"],
        cities_file=parsed["cities"],
        hospitals_file=parsed["hospitals"],
        calendar_file=parsed["calendar"],
        roster_file=parsed["roster"],
        privacy_file=parsed["privacy"],
        version=digest.hexdigest()[:12],
    )
    for key, loc, message, fix in content.reference_problems():
        filename = FILES[key][0]
        problems.append(Problem(_display(directory, filename), path_text(raw[key], loc), message,
                                fix, line_of(raw[key], loc)))
    if problems:
        raise ContentError(problems)
    return content
