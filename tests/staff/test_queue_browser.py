"""The queue in Debian's Chromium, with real CSRF: find requests by the insured's name (a POST:
the name never reaches an address), take one ("分配给我"), see it under "分配给我的", and page
through the queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from tests.staff.test_staff_browser import live  # noqa: F401  (the live server fixture)
from tests.support.staff import PASSWORD, STAFF, Clock, new_request

pytestmark = pytest.mark.browser


def test_search_assign_and_filter_mine(live: tuple[str, Flask, Clock],  # noqa: F811
                                       browser: Any) -> None:
    from playwright.sync_api import expect

    base, app, clock = live
    refs = [new_request(app, "green_channel", use_id="outpatient", files=False,
                        request_date=dt.date(2026, 3, 2) - dt.timedelta(days=i))
            for i in range(52)]
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    addresses: list[str] = []
    page.on("request", lambda r: addresses.append(r.url))
    page.goto(f"{base}/staff/login")
    page.get_by_label("用户名").fill(STAFF)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text("待办队列")
    expect(page.locator("#queue tbody tr")).to_have_count(50)
    expect(page.locator("#counts")).to_have_attribute("data-total", "52")
    page.locator("#pages a[rel=next]").click()
    expect(page.locator("#queue tbody tr")).to_have_count(2)
    # the newest request falls due last: the end of the last page
    expect(page.locator("#queue tbody tr").last).to_have_attribute(
        "data-reference", refs[0])

    page.get_by_label("按申请编号、姓名或手机号码查找").fill("张 三")
    page.get_by_role("button", name="查找").click()
    expect(page.locator("h1")).to_have_text("查找结果")
    # more than a short list: the newest 20 and a hint to narrow it
    expect(page.locator("#matches tr[data-reference]")).to_have_count(20)
    expect(page.locator("#more-matches")).to_be_visible()
    page.locator(f"#matches tr[data-reference='{refs[-1]}'] a").click()
    expect(page.locator("#assignment")).to_have_attribute("data-assigned", "")
    page.get_by_role("button", name="分配给我").click()
    expect(page.locator("#flash")).to_contain_text(f"已分配给 {STAFF}")
    expect(page.locator("#assignment")).to_have_attribute("data-assigned", STAFF)

    page.goto(f"{base}/staff/")
    page.get_by_label("负责人").select_option("mine")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    expect(page.locator("#queue tbody tr")).to_have_attribute("data-reference",
                                                              refs[-1])
    assert not any("张" in a or "%E5%BC%A0" in a.upper() for a in addresses)
