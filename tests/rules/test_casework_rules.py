"""Pure rules of staff working together: the status a request has from the events that still
count (after an undo or a reopening), which statuses may be reopened, and the password checks
said in English for the terminal and in Chinese for the console."""

from __future__ import annotations

import pytest

from service_rules.passwords import password_problem, password_problem_zh
from service_rules.workflow import (
    REOPENABLE_STATUSES,
    STATUS_COMPLETED,
    STATUS_DECLINED,
    STATUS_IN_PROGRESS,
    STATUS_LAPSED,
    STATUS_OPEN,
    STATUS_WITHDRAWN,
    ends_request,
    status_from_events,
)


@pytest.mark.parametrize(("events", "status"), [
    ([], STATUS_OPEN),
    (["identity_confirmed"], STATUS_IN_PROGRESS),
    (["identity_confirmed", "records_complete"], STATUS_IN_PROGRESS),
    (["identity_confirmed", "report_issued"], STATUS_COMPLETED),   # the flow's last step
    (["missed"], STATUS_COMPLETED),                                # counts as used
    (["identity_confirmed", "lapsed"], STATUS_LAPSED),
    (["billing_declined"], STATUS_DECLINED),
    (["identity_confirmed", "withdrawn"], STATUS_WITHDRAWN),
])
def test_the_status_is_what_the_events_left_make_it(events: list[str], status: str) -> None:
    assert status_from_events(events, "report_issued") == status


def test_only_a_staff_ending_may_be_reopened() -> None:
    assert set(REOPENABLE_STATUSES) == {STATUS_COMPLETED, STATUS_LAPSED, STATUS_DECLINED}
    assert ends_request("lapsed") and ends_request("report_issued", "report_issued")
    assert not ends_request("report_issued") and not ends_request("records_complete", "x")


@pytest.mark.parametrize(("password", "english", "chinese"), [
    ("short", "at least 12", "至少需要 12 个字符"),
    (" leading space pass", "spaces", "空格"),
    ("password1234", "list of passwords", "最常被猜到"),
    ("wang.fang-2026-x", "username", "用户名"),
    ("aaaaaaaaaaaaaaaa", "too weak", "太容易被猜到"),
])
def test_a_password_is_refused_for_the_same_reason_in_both_languages(
        password: str, english: str, chinese: str) -> None:
    assert english in password_problem(password, username="wang.fang")
    assert chinese in password_problem_zh(password, username="wang.fang")


def test_a_good_password_passes_both() -> None:
    assert password_problem("river lantern copper 42", username="wang.fang") is None
    assert password_problem_zh("river lantern copper 42", username="wang.fang") is None
