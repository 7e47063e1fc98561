"""Read the recipes and message examples out of content/README.md, and apply them.

The guide marks each testable example with an HTML comment, invisible on the page:

    <!-- recipe: ID file=F.yaml -->      an edit an editor makes    ... <!-- /recipe -->
    <!-- message: ID file=F.yaml -->     a mistake and its message  ... <!-- /message -->
    <!-- diff-example: ID -->            the diff output of recipe ID (next fenced block)

Inside a region every fenced block follows a label line, and the label says what it is:
找到 / 正确写法 (text to find), 改成 / 错误写法 (its replacement), 在它后面加上 (text to insert
after what was found), 删除 (text to delete), 检查显示 (the expected check output).
A label may name the file, e.g. 找到（hospitals.yaml）, otherwise the region's file applies.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "content" / "README.md"
PYTHON = sys.executable

REGION = re.compile(
    r"<!-- (?P<kind>recipe|message): (?P<id>[\w-]+) file=(?P<file>[\w.]+) -->\n"
    r"(?P<body>.*?)<!-- /(?P=kind) -->", re.S)
BLOCK = re.compile(r"(?P<label>[^\n]*)\n\n```[a-z]*\n(?P<text>.*?)```\n", re.S)
DIFF_EXAMPLE = re.compile(r"<!-- diff-example: (?P<id>[\w-]+) -->\n```text\n(?P<text>.*?)```",
                          re.S)
FILE_IN_LABEL = re.compile(r"(\w+\.yaml)")


@dataclass
class Edit:
    file: str
    find: str
    replace: str


@dataclass
class Example:
    kind: str  # recipe | message
    id: str
    edits: list[Edit] = field(default_factory=list)
    expected_output: str = ""


def _label_kind(label: str) -> str:
    label = label.strip()
    for word, kind in (("在它后面加上", "append"), ("找到", "find"), ("正确写法", "find"),
                       ("改成", "replace"), ("错误写法", "replace"), ("删除", "delete"),
                       ("检查显示", "output")):
        if word in label:
            return kind
    raise ValueError(f"guide: unknown label before a code block: {label!r}")


def _expand(text: str) -> str:
    return text.replace("<Tab>", "\t")


def examples(text: str | None = None) -> dict[str, Example]:
    """Every recipe and message example in the guide, by id."""
    text = GUIDE.read_text(encoding="utf-8") if text is None else text
    found: dict[str, Example] = {}
    for region in REGION.finditer(text):
        example = Example(region["kind"], region["id"])
        pending: tuple[str, str] | None = None  # (file, find text) waiting for its action
        for block in BLOCK.finditer(region["body"]):
            kind = _label_kind(block["label"])
            named = FILE_IN_LABEL.search(block["label"])
            file = named.group(1) if named else region["file"]
            body = _expand(block["text"])
            if kind == "find":
                assert pending is None, f"{example.id}: two 找到 blocks in a row"
                pending = (file, body)
            elif kind in ("replace", "append"):
                assert pending is not None, f"{example.id}: 改成 without 找到"
                find_file, find = pending
                example.edits.append(Edit(find_file, find,
                                          body if kind == "replace" else find + body))
                pending = None
            elif kind == "delete":
                example.edits.append(Edit(file, body, ""))
            else:
                example.expected_output = block["text"]
        assert pending is None, f"{example.id}: 找到 without 改成"
        assert example.id not in found, f"duplicate example id {example.id}"
        found[example.id] = example
    return found


def diff_examples(text: str | None = None) -> dict[str, str]:
    text = GUIDE.read_text(encoding="utf-8") if text is None else text
    return {m["id"]: m["text"] for m in DIFF_EXAMPLE.finditer(text)}


def apply(example: Example, content_dir: Path) -> None:
    """Make the example's edits by text replacement, as an editor would."""
    for edit in example.edits:
        path = content_dir / edit.file
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.find)
        assert count == 1, (
            f"guide example {example.id!r}: the text to find occurs {count} times in "
            f"{edit.file} (must be exactly once); update the guide:\n{edit.find}")
        path.write_text(text.replace(edit.find, edit.replace), encoding="utf-8")


def run_rules(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`python -m service_rules ARGS` run in this process (its `main`, from the repository
    root), which saves a Python start-up per call; tests/rules/test_rules_cli.py runs the real
    command line."""
    from service_rules.__main__ import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main(argv)
    return subprocess.CompletedProcess([PYTHON, "-m", "service_rules", *argv], code,
                                       out.getvalue(), err.getvalue())


def normalise(text: str) -> str:
    """Ignore what moves when content grows: line numbers and list positions."""
    text = re.sub(r"第 \d+ 行", "第 N 行", text)
    text = re.sub(r"\[\d+\]", "[N]", text)
    text = re.sub(r"第 \d+ 项", "第 N 项", text)
    # lists of ids in a fix may come from a set: compare them in sorted order
    text = re.sub(r"之一：([\w, -]+)。",
                  lambda m: "之一：" + ", ".join(sorted(m.group(1).split(", "))) + "。", text)
    return text.strip()
