"""One staff journey in Debian's Chromium: sign in, find the request in the queue, record that
the records are complete, and read the new promised date off the page."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.staff import (
    ID_NUMBER,
    PASSWORD,
    STAFF,
    Clock,
    add_staff,
    expected_due,
    make_app,
    new_request,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Flask, Clock]]:
    clock = Clock(dt.date(2026, 3, 3))
    app = make_app(tmp_path, TODAY=clock, WTF_CSRF_ENABLED=True)
    add_staff(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app, clock
    finally:
        server.shutdown()
        thread.join(5)


def test_staff_records_an_event_and_sees_the_new_date(
        live: tuple[str, Flask, Clock], browser: Any) -> None:
    from playwright.sync_api import expect

    base, app, clock = live
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    due = expected_due(app, dt.date(2026, 3, 3), 10)
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text
            else None)
    page.goto(f"{base}/staff/")
    assert "/staff/login" in page.url
    page.get_by_label("用户名").fill(STAFF)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text("待办队列")
    row = page.locator(f"#queue tr[data-reference='{ref}']")
    expect(row).to_have_attribute("data-urgency", "no_clock")
    row.get_by_role("link").click()
    expect(page.locator("#reference")).to_have_text(f"{ref[:4]}-{ref[4:]}")
    expect(page.locator("#promises [data-due]")).to_have_count(0)

    page.locator("#event-records_complete summary").click()
    form = page.locator("#event-records_complete form")
    form.get_by_label("发生日期").fill("2026-03-03")
    form.get_by_role("button").click()

    expect(page.locator("#flash")).to_contain_text(due.isoformat())
    expect(page.locator("#promises tr[data-promise=opinion_report] [data-due]")) \
        .to_have_attribute("data-due", due.isoformat())
    expect(page.locator("#status")).to_have_attribute("data-status", "in_progress")
    expect(page.locator("#flow li[data-step=start]")).to_have_attribute("data-done",
                                                                        "yes")
    expect(page.locator("#audit tr[data-action=event_recorded]")).to_have_count(1)

    # showing the ID number in full is a deliberate POST (with its CSRF token), logged
    expect(page.locator("#id-number")).to_have_text("110105********002X")
    page.locator("[data-reveal=id_number]").click()
    expect(page.locator("#id-number")).to_have_text(ID_NUMBER)
    expect(page.locator("#audit tr[data-action=personal_data_revealed]")) \
        .to_have_count(1)
    assert errors == []
