"""The service as a conversation, in Debian's Chromium, end to end: staff take a request on the
hotline; the family opens the status page from its link; staff ask for documents; the family
uploads them on the phone; staff mark the records complete and the promise appears. Then an
appointment arranged and shown with hospital and time, and a declined request shown as such."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from forms_app.applicant.access import status_link_token
from service_rules.deadlines import shanghai_today
from tests.support.forms import PDF, VALID_ID
from tests.support.staff import PASSWORD, STAFF, add_staff, expected_due, make_app, new_request

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    add_staff(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(5)


def link(app: Flask, base: str, reference: str) -> str:
    with app.test_request_context():
        return f"{base}/status/{reference}?t={status_link_token(reference)}"


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("用户名").fill(STAFF)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def record(page, event_id: str, **fields: str) -> None:
    page.locator(f"#event-{event_id} summary").click()
    form = page.locator(f"#event-{event_id} form")
    for label, value in fields.items():
        control = form.get_by_label(label)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button").click()


def test_a_hotline_request_followed_by_the_family_with_documents_sent_later(
        live: tuple[str, Flask], browser: Any, rules, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, app = live
    today = shanghai_today()
    scan = tmp_path / "CT报告.pdf"
    scan.write_bytes(PDF)
    desk = browser.new_page(viewport={"width": 1024, "height": 800})
    sign_in(desk, base)
    desk.get_by_role("link", name="电话登记").click()
    desk.get_by_role("link", name="第二诊疗意见").click()
    desk.fill("#insured_name", "张三")
    desk.fill("#id_number", VALID_ID)
    desk.fill("#phone", "13800138000")
    desk.fill("#policy_number", "P2025-0001")
    desk.fill("#policy_effective", (today - dt.timedelta(days=300)).isoformat())
    desk.fill("#diagnosis_date", (today - dt.timedelta(days=20)).isoformat())
    desk.check("#first_diagnosis-0")
    desk.check("#consent")
    desk.get_by_role("button", name="登记申请").click()
    expect(desk.locator("#flash")).to_contain_text("已为来电人登记申请")
    reference = desk.locator("#reference").text_content().replace("-", "")
    expect(desk.locator("#channel")).to_have_attribute("data-channel", "hotline")

    # the family member's phone opens the message's link
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(link(app, base, reference))
    expect(phone.locator("h1")).to_have_text("申请进度")
    assert "被保险人致电服务热线" in phone.content()

    # staff ask for what is missing; the family sees it and uploads on the phone
    record(desk, "documents_requested", 需要补充的资料="请补充最近一次的CT报告")
    phone.reload()
    expect(phone.locator("#asked-for")).to_have_text("请补充最近一次的CT报告")
    phone.select_option("#document_type", "ct_report")
    phone.set_input_files("#files", str(scan))
    phone.get_by_role("button", name="发送资料").click()
    expect(phone.locator(".app-notice")).to_contain_text("已收到您补充的1个文件")

    # staff see the document, mark the records complete, the promise appears
    desk.reload()
    expect(desk.locator("#documents li")).to_contain_text("收到：")
    record(desk, "records_complete", 发生日期=today.isoformat())
    due = expected_due(app, today, 10)
    phone.reload()
    expect(phone.locator("[data-promise=opinion_report]")).to_have_attribute(
        "data-date", due.isoformat())


def test_an_appointment_and_a_declined_billing_as_the_family_sees_them(
        live: tuple[str, Flask], browser: Any) -> None:
    from playwright.sync_api import expect

    base, app = live
    today = shanghai_today()
    appointment = new_request(app, "green_channel", use_id="outpatient", request_date=today)
    billing = new_request(app, "direct_billing", request_date=today,
                          details={"admission_date": (today + dt.timedelta(days=20)).isoformat()})
    desk = browser.new_page(viewport={"width": 1024, "height": 800})
    sign_in(desk, base)
    desk.goto(f"{base}/staff/requests/{appointment}")
    when = today + dt.timedelta(days=7)
    record(desk, "appointment_booked", 发生日期=today.isoformat(), 医院="bj-pumch",
           就诊日期=when.isoformat(), 就诊时间="09:30")
    desk.goto(f"{base}/staff/requests/{billing}")
    record(desk, "billing_declined", 发生日期=today.isoformat(),
           原因="本次住院不在合作医院")

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(link(app, base, appointment))
    arranged = phone.locator("#arranged")
    expect(arranged).to_contain_text("北京协和医院")
    expect(arranged).to_contain_text(f"{when.year}年{when.month}月{when.day}日")
    expect(arranged).to_contain_text("09:30")

    phone.goto(link(app, base, billing))
    expect(phone.locator("#ended")).to_contain_text("本次住院不在合作医院")
    expect(phone.get_by_text("把承诺日期加入日历")).to_have_count(0)


def test_a_step_recorded_too_early_is_undone_with_a_reason_and_the_family_sees_it_go(
        live: tuple[str, Flask], browser: Any) -> None:
    from playwright.sync_api import expect

    base, app = live
    today = shanghai_today()
    ref = new_request(app, "second_opinion", request_date=today)
    due = expected_due(app, today, 10)
    shown_due = f"{due.year}年{due.month}月{due.day}日"
    desk = browser.new_page(viewport={"width": 1024, "height": 800})
    sign_in(desk, base)
    desk.goto(f"{base}/staff/requests/{ref}")
    record(desk, "records_complete", 发生日期=today.isoformat())
    promise = desk.locator("#promises tr[data-promise=opinion_report]")
    expect(promise.locator("[data-due]")).to_have_attribute("data-due", due.isoformat())
    family = browser.new_page(viewport={"width": 390, "height": 844})
    family.goto(link(app, base, ref))
    expect(family.locator("main")).to_contain_text(shown_due)

    row = desk.locator("#events tr[data-event=records_complete]")
    row.locator("details.staff-undo summary").click()
    row.get_by_role("button", name="撤销：病历资料收集完整").click()  # no reason yet
    expect(row.get_by_role("alert")).to_have_text("请填写撤销的原因。")
    expect(promise.locator("[data-due]")).to_have_count(1)  # nothing changed
    row.get_by_label("撤销原因").fill("病历还缺出院小结，记录得太早了")
    row.get_by_role("button", name="撤销：病历资料收集完整").click()

    expect(desk.locator("#flash")).to_contain_text("已撤销：病历资料收集完整")
    expect(desk.locator("#undone")).to_contain_text("病历还缺出院小结，记录得太早了")
    expect(desk.locator("#events tr[data-event=records_complete]")).to_have_count(0)
    expect(promise).to_have_attribute("data-outcome", "waiting")
    expect(desk.locator("#audit tr[data-action=event_undone]")).to_contain_text(
        "病历还缺出院小结")
    family.reload()
    expect(family.locator("main")).not_to_contain_text(shown_due)


def message_link(app: Flask, base: str) -> str:
    """The status link at the end of the latest message queued."""
    from sqlalchemy import select

    from forms_app.storage import get_db
    from forms_app.storage.models import Outbox

    with app.app_context(), get_db().read_session() as s:
        body = s.scalars(select(Outbox.body).order_by(Outbox.id.desc())).first()
    found = body.rsplit("查看办理进度：", 1)[1]
    assert found.startswith(f"{base}/status/link/")
    return found


def test_the_arrangement_from_the_message_link_printed_and_the_link_revoked(
        live: tuple[str, Flask], browser: Any) -> None:
    from playwright.sync_api import expect

    base, app = live
    app.config["PUBLIC_BASE_URL"] = base  # messages carry links to this server
    today = shanghai_today()
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=today)
    desk = browser.new_page(viewport={"width": 1024, "height": 800})
    sign_in(desk, base)
    desk.goto(f"{base}/staff/requests/{ref}")
    when = today + dt.timedelta(days=7)
    record(desk, "appointment_booked", 发生日期=today.isoformat(), 医院="bj-pumch",
           就诊日期=when.isoformat(), 就诊时间="09:30", 科室="肿瘤内科",
           就诊地址="东单帅府园1号 门诊楼", 需要带齐的资料="身份证、医保卡、病理报告")
    link = message_link(app, base)

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(link)
    arranged = phone.locator("#arranged")
    expect(arranged).to_contain_text("北京协和医院 肿瘤内科")
    expect(arranged).to_contain_text(f"{when.year}年{when.month}月{when.day}日")
    expect(arranged).to_contain_text("09:30")
    expect(arranged).to_contain_text("地址：东单帅府园1号 门诊楼。")
    expect(arranged).to_contain_text("请带齐：身份证、医保卡、病理报告。")
    phone.reload()  # the link itself can be refreshed and bookmarked
    expect(arranged).to_contain_text("北京协和医院")
    expect(phone.locator("#submitted")).to_contain_text("北京")

    # on paper: the summary without navigation, forms or buttons
    phone.emulate_media(media="print")
    for hidden in (".app-header", ".app-footer", "form", "button", "#links", "#privacy"):
        for element in phone.locator(hidden).all():
            expect(element).to_be_hidden()
    for shown in ("h1", "#summary-title", "#arranged", "#promises-title", "#submitted"):
        expect(phone.locator(shown)).to_be_visible()
    expect(phone.locator(".app-print-only")).to_contain_text("申请编号")
    expect(phone.locator("main a.app-tel")).to_be_visible()  # the hotline
    # one sheet of A4: the PDF's page objects (not the /Pages tree) counted
    pdf = phone.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf)) == 1
    phone.emulate_media(media="screen")
    expect(phone.locator("#renew-links")).to_be_visible()

    # staff stop the links: the phone's next look finds a calm page and the lookup
    desk.goto(f"{base}/staff/requests/{ref}")
    desk.locator("#revoke-links").click()
    expect(desk.locator("#active-links")).to_have_text("0")
    phone.reload()
    expect(phone.locator("h1")).to_have_text("查询申请进度")
    expect(phone.locator(".app-notice")).to_contain_text("已经失效")
    phone.goto(f"{base}/status/{ref}")
    expect(phone.locator("h1")).to_have_text("查询申请进度")


def test_an_ended_request_looks_ended_in_the_browser(
        live: tuple[str, Flask], browser: Any) -> None:
    from playwright.sync_api import expect

    base, app = live
    app.config["PUBLIC_BASE_URL"] = base
    today = shanghai_today()
    ref = new_request(app, "genetic_testing", request_date=today)
    desk = browser.new_page(viewport={"width": 1024, "height": 800})
    sign_in(desk, base)
    desk.goto(f"{base}/staff/requests/{ref}")
    record(desk, "lapsed", 发生日期=today.isoformat(), 原因="无法提供检测样本")
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(message_link(app, base))
    expect(phone.locator("#ended")).to_contain_text("本次服务已终止")
    expect(phone.locator("#ended")).to_contain_text("无法提供检测样本")
    expect(phone.get_by_text("这项承诺不再适用")).to_be_visible()
    expect(phone.get_by_text("把承诺日期加入日历")).to_have_count(0)
    expect(phone.get_by_text("到时我们会告诉您具体日期")).to_have_count(0)
