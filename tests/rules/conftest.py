"""Fixtures for the service_rules tests: the shipped content loaded once, and a YAML editor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from service_rules import Rules, load_rules
from service_rules.workcalendar import WorkCalendar

# "today" for every calendar built in these tests: late 2026, before the 2027 notice.
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules(today=TODAY)


@pytest.fixture(scope="session")
def cal(rules: Rules) -> WorkCalendar:
    return rules.calendar


@pytest.fixture
def edit(content_copy: Path) -> Callable[[str, str, str], Path]:
    """Replace one exact snippet in a file of the content copy; fails if the snippet is absent
    (so a test never passes because its edit silently did nothing)."""

    def _edit(filename: str, old: str, new: str) -> Path:
        path = content_copy / filename
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"snippet not found exactly once in {filename}: {old!r}"
        path.write_text(text.replace(old, new), encoding="utf-8")
        return content_copy

    return _edit
