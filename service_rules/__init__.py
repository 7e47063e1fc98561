"""Content models, working-day calendar, deadlines and eligibility. Pure Python: no Flask."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .loader import default_content_dir, load_content
from .models import Content
from .problems import ContentError, Problem
from .workcalendar import WorkCalendar

__all__ = ["Content", "ContentError", "Problem", "Rules", "WorkCalendar", "load_content",
           "load_rules", "default_content_dir"]


@dataclass(frozen=True)
class Rules:
    """Content plus the calendar built from it: everything a rule needs."""

    content: Content
    calendar: WorkCalendar


def load_rules(directory: Path | str | None = None, *, today: dt.date | None = None) -> Rules:
    content = load_content(directory)
    return Rules(content, WorkCalendar.from_content(content.calendar_file, today=today))
