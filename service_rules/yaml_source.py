"""Read YAML keeping line numbers, so that a problem can name the line an editor must fix."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pickle
import re
from pathlib import Path
from typing import Any

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from . import file_cache
from .problems import ContentError, Problem

PICKLE_PROTOCOL = 5

Loc = tuple[str | int, ...]


# Trees already parsed, by the digest of the text and of how it was parsed. ruamel's parser is
# the slow part of loading content (0.15 s for the whole of it, in every server worker, CLI
# command and build); reading a kept tree back takes a few milliseconds. Like the bytecode in
# __pycache__, the folder is part of the checkout: a pickle is trusted as the code is.
YAML_CACHE = file_cache.CACHE_ROOT / "yaml"
MAX_KEPT_BYTES = 16 * 1024 * 1024
_PARSER = f"ruamel.yaml {ruamel.yaml.__version__} rt no-duplicate-keys; pickle {PICKLE_PROTOCOL}"


def _parse(text: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml.load(text)


@functools.lru_cache(maxsize=64)
def _pickled(text: str) -> bytes | None:
    """The tree of `text` (line numbers included) as a pickle, from the folder when it was
    parsed before; None if it cannot be pickled. Kept in memory too: the preview re-reads every
    file after each edit and a check, build or diff reads the same unchanged files again. Each
    caller unpickles a tree of its own that it may change."""
    key = hashlib.sha256(f"{_PARSER}\n{text}".encode()).hexdigest()
    path = YAML_CACHE / f"{key}.pickle"
    kept = file_cache.read_kept(path)
    if kept is not None:
        try:
            pickle.loads(kept)
            return kept
        except Exception:  # noqa: BLE001 - cut short or damaged: parse again
            pass
    tree = _parse(text)  # syntax errors are raised here, and nothing is kept
    try:
        made = pickle.dumps(tree, protocol=PICKLE_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    file_cache.keep(path, made)
    file_cache.trim(YAML_CACHE, MAX_KEPT_BYTES)
    return made


def read_yaml(path: Path, display_name: str) -> Any:
    """Parse one YAML file; syntax errors and duplicate keys become a ContentError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError([Problem(display_name, "", "找不到这个文件。",
                                    "请从版本库恢复这个文件，或确认文件名拼写正确。")]) from None
    except UnicodeDecodeError:
        raise ContentError([Problem(display_name, "", "文件不是 UTF-8 编码，中文会显示成乱码。",
                                    "请用编辑器把文件另存为 UTF-8 编码。")]) from None
    try:
        made = _pickled(text)
        return pickle.loads(made) if made is not None else _parse(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        found = re.search(r'duplicate key "(.*?)"', str(exc.problem))
        key = f"“{found.group(1)}”" if found else "一项"
        raise ContentError([Problem(display_name, "", f"同一层里{key}写了两次。",
                                    "每一项只能写一次，请删除或合并重复的那一行。",
                                    line)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ContentError([Problem(
            display_name, "", f"YAML 格式有误（{exc.problem or exc.context}）。",
            "请检查这一行及上一行的缩进（用空格，不要用 Tab）、冒号后的空格、引号和括号是否成对。",
            line)]) from None
    except ValueError:
        # the YAML date resolver accepts 2027-02-30 and the constructor then fails without a mark
        raise ContentError([_bad_date_problem(text, display_name)]) from None


DATE_LIKE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")


def _bad_date_problem(text: str, display_name: str) -> Problem:
    """Name the first date-looking value that is not a real calendar date."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in DATE_LIKE.finditer(line):
            try:
                dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return Problem(display_name, "",
                               f"日期 {match.group(0)} 不存在（没有这个月或这一天）。",
                               "请核对通知里的日期，写成 年-月-日，例如 2027-02-07。", number)
    return Problem(display_name, "", "有一个日期无法识别。",
                   "请核对日期，写成 年-月-日，例如 2027-02-07。")


def line_of(data: Any, loc: Loc) -> int | None:
    """Best line number (1-based) for a location: the deepest node that still exists."""
    line = None
    node = data
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            if isinstance(node, CommentedMap | CommentedSeq) and line is None:
                line = node.lc.line + 1
            break
    return line


def path_text(data: Any, loc: Loc) -> str:
    """services[0](green_channel).promises[1] — list items named by their id when they have one."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, dict):  # calendar years: years.2027
            parts.append(("." if parts else "") + str(key))
            node = node.get(key)
        elif isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and 0 <= key < len(node):
                node = node[key]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f"({node['id']})"
            else:
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)
