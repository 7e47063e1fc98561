"""Withdrawal and retention rules (pure), and the privacy content's checks with Chinese
messages that name the file and the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service_rules import ContentError, load_content
from service_rules.models import Retention
from service_rules.retention import (
    DELETED_RETENTION,
    DELETED_WITHDRAWN,
    add_years,
    deletion_due,
    is_due,
    may_withdraw_consent,
    may_withdraw_request,
    status_after_withdrawal,
)

D = dt.date
SETTINGS = Retention(text="服务结束后保存三年", after_service_years=3, withdrawn_grace_days=30)


def test_deletion_is_due_three_years_after_the_end_or_after_the_grace_period() -> None:
    due = deletion_due(SETTINGS, status="completed", last_event=D(2026, 3, 2), withdrawn_on=None)
    assert due is not None and due.day == D(2029, 3, 2) and due.reason == DELETED_RETENTION
    assert not is_due(due, D(2029, 3, 1)) and is_due(due, D(2029, 3, 2))
    # an open request is never due: its service has not ended
    assert deletion_due(SETTINGS, status="in_progress", last_event=D(2020, 1, 1),
                        withdrawn_on=None) is None
    w = deletion_due(SETTINGS, status="withdrawn", last_event=D(2026, 3, 2),
                     withdrawn_on=D(2026, 3, 2))
    assert w is not None and w.day == D(2026, 4, 1) and w.reason == DELETED_WITHDRAWN
    # consent withdrawn long after the end: whichever comes first
    late = deletion_due(SETTINGS, status="completed", last_event=D(2020, 1, 1),
                        withdrawn_on=D(2022, 12, 20))
    assert late is not None and late.day == D(2023, 1, 1) and late.reason == DELETED_RETENTION


def test_29_february_keeps_data_no_longer_than_the_years() -> None:
    assert add_years(D(2024, 2, 29), 3) == D(2027, 2, 28)
    assert add_years(D(2024, 3, 1), 3) == D(2027, 3, 1)


def test_what_may_be_withdrawn() -> None:
    assert may_withdraw_request("open") and may_withdraw_request("in_progress")
    assert not may_withdraw_request("completed") and not may_withdraw_request("withdrawn")
    assert not may_withdraw_request("open", deleted=True)
    assert may_withdraw_consent("completed", consent_withdrawn=False)
    assert not may_withdraw_consent("completed", consent_withdrawn=True)
    assert status_after_withdrawal("open", "consent") == "withdrawn"
    assert status_after_withdrawal("completed", "consent") == "completed"  # stays a use
    with pytest.raises(ValueError):
        status_after_withdrawal("open", "everything")


def _problems(content_copy: Path) -> list[str]:
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    return [f"{p.file}:{p.line} {p.message} {p.fix}" for p in exc.value.problems]


def test_a_missing_right_is_named_with_file_and_line(content_copy: Path) -> None:
    path = content_copy / "privacy.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: copy")
    end = text.index("  - id: correct")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    problems = _problems(content_copy)
    assert any(p.startswith("content/privacy.yaml:") and "“复制”（copy）" in p for p in problems)


def test_retention_years_must_match_the_consent(content_copy: Path) -> None:
    path = content_copy / "privacy.yaml"
    text = path.read_text(encoding="utf-8").replace("after_service_years: 3",
                                                    "after_service_years: 5")
    path.write_text(text, encoding="utf-8")
    problems = _problems(content_copy)
    line = next(i for i, t in enumerate(text.splitlines(), 1)
                if t.strip().startswith("after_service_years:"))
    assert any(p.startswith(f"content/privacy.yaml:{line} ") and "单独同意" in p
               for p in problems), problems


def test_a_typo_in_the_privacy_file_names_its_line(content_copy: Path) -> None:
    path = content_copy / "privacy.yaml"
    text = path.read_text(encoding="utf-8").replace("withdrawn_grace_days: 30",
                                                    "withdrawn_grace_day: 30")
    path.write_text(text, encoding="utf-8")
    problems = _problems(content_copy)
    assert any("privacy.yaml" in p and "withdrawn_grace_days" in p for p in problems), problems


def test_content_without_the_privacy_file_still_loads(content_copy: Path) -> None:
    """An older revision (make diff): the consent's three years and thirty days apply."""
    (content_copy / "privacy.yaml").unlink()
    content = load_content(content_copy)
    assert not content.privacy_file.present
    assert content.privacy_file.retention.after_service_years == 3
