"""The applicant's status page as the request goes on: its own address (refresh, bookmark, the
signed link of a message), what staff arranged (hospital and time), and a request that ended
(declined with its reason, no date still promised, no calendar file)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms_app.applicant.access import status_link_token
from tests.support.staff import (
    make_app,
    new_request,
    post_event,
    signed_in_staff,
)

D = dt.date


@pytest.fixture
def console(tmp_path: Path) -> tuple[Flask, FlaskClient]:
    app = make_app(tmp_path, TODAY=lambda: D(2026, 12, 1))
    staff = signed_in_staff(app)
    return app, staff


def open_link(app: Flask, reference: str) -> FlaskClient:
    """A family member's phone opening the link of a message: no session before."""
    with app.test_request_context():
        token = status_link_token(reference)
    phone = app.test_client()
    resp = phone.get(f"/status/{reference}", query_string={"t": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/status/{reference}")
    return phone


def test_the_signed_link_opens_the_status_page_and_a_forged_one_does_not(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=D(2026, 12, 1))
    phone = open_link(app, ref)
    page = phone.get(f"/status/{ref}")
    assert page.status_code == 200 and f"{ref[:4]}-{ref[4:]}" in page.get_data(as_text=True)
    stranger = app.test_client()
    assert stranger.get(f"/status/{ref}").status_code == 303  # no link, no lookup: ask first
    forged = stranger.get(f"/status/{ref}", query_string={"t": "not-a-token"})
    assert forged.status_code == 303 and forged.headers["Location"].endswith("/status/")
    with app.test_request_context():
        other = status_link_token("ABCD2345")
    assert stranger.get(f"/status/{ref}", query_string={"t": other}).status_code == 303
    assert stranger.get(f"/status/{ref}").status_code == 303


def test_an_arranged_appointment_shows_hospital_and_time(console) -> None:
    app, staff = console
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=D(2026, 12, 1))
    resp = post_event(staff, ref, "appointment_booked", D(2026, 12, 1), hospital_id="bj-pumch",
                      appointment_date="2026-12-08", appointment_time="09:30")
    assert resp.status_code == 303
    html = open_link(app, ref).get(f"/status/{ref}").get_data(as_text=True)
    assert "已为您安排" in html
    assert "北京协和医院" in html and "2026年12月8日" in html and "09:30" in html
    # the outpatient promise is kept: no date still to come, no calendar file
    assert "已于2026年12月1日（星期二）完成" in html
    assert ".ics" not in html


def test_a_declined_direct_billing_shows_why_and_promises_nothing_more(console) -> None:
    app, staff = console
    ref = new_request(app, "direct_billing", request_date=D(2026, 12, 1),
                      details={"admission_date": "2026-12-15"})
    resp = post_event(staff, ref, "billing_declined", D(2026, 12, 1),
                      reason="所选医院本次住院不在直付范围内")
    assert resp.status_code == 303
    phone = open_link(app, ref)
    html = phone.get(f"/status/{ref}").get_data(as_text=True)
    assert 'id="ended"' in html and "所选医院本次住院不在直付范围内" in html
    assert "不符合直付服务范围" in html
    assert "把承诺日期加入日历" not in html
    ics = phone.get(f"/apply/confirmation/{ref}.ics").get_data(as_text=True)
    assert "BEGIN:VEVENT" not in ics  # nothing left to put in a calendar


def test_an_ended_genetic_test_does_not_promise_a_date_to_come(console) -> None:
    app, staff = console
    ref = new_request(app, "genetic_testing", request_date=D(2026, 12, 1))
    assert post_event(staff, ref, "lapsed", D(2026, 12, 1),
                      reason="无法提供检测样本").status_code == 303
    html = open_link(app, ref).get(f"/status/{ref}").get_data(as_text=True)
    assert "到时我们会告诉您具体日期" not in html
    assert "这项承诺不再适用" in html and "无法提供检测样本" in html


def test_a_message_never_announces_a_promise_already_kept(console) -> None:
    from sqlalchemy import select

    from forms_app.storage import get_db
    from forms_app.storage.models import Outbox

    app, staff = console
    ref = new_request(app, "direct_billing", request_date=D(2026, 12, 1),
                      details={"admission_date": "2026-12-15"})
    assert post_event(staff, ref, "billing_accepted", D(2026, 12, 1)).status_code == 303
    with app.app_context(), get_db().read_session() as s:
        _submitted, message = list(s.scalars(select(Outbox).order_by(Outbox.id)))
    assert "确认启动直付服务" in message.body
    assert "回复是否启动直付服务" not in message.body  # kept by this very event


def test_staff_ask_for_documents_and_the_applicant_sends_them(console) -> None:
    import io

    from tests.support.forms import JPEG, PDF, hidden
    from tests.support.staff import page as staff_page

    app, staff = console
    ref = new_request(app, "second_opinion", request_date=D(2026, 12, 1), files=False)
    assert post_event(staff, ref, "documents_requested", D(2026, 12, 1),
                      message="请补充最近一次的CT报告").status_code == 303
    phone = open_link(app, ref)
    html = phone.get(f"/status/{ref}").get_data(as_text=True)
    assert "请补充最近一次的CT报告" in html and 'id="documents"' in html
    token = hidden(html, "csrf_token") if 'name="csrf_token"' in html else ""
    # a file that is not what it claims: refused at its field, nothing stored
    bad = phone.post(f"/status/{ref}/documents", content_type="multipart/form-data", data={
        "csrf_token": token, "document_type": "ct_report",
        "files": (io.BytesIO(b"MZ\x90\x00 not a scan"), "ct.pdf")})
    assert bad.status_code == 422 and "不是 PDF、JPG 或 PNG" in bad.get_data(as_text=True)
    ok = phone.post(f"/status/{ref}/documents", content_type="multipart/form-data", data={
        "csrf_token": token, "document_type": "ct_report",
        "files": [(io.BytesIO(PDF), "ct.pdf"), (io.BytesIO(JPEG), "ct.jpg")]})
    assert ok.status_code == 303
    after = phone.get(f"/status/{ref}").get_data(as_text=True)
    assert "已收到您补充的2个文件" in after and 'id="documents"' not in after
    # staff see each new document with its time; the files are encrypted at rest
    doc = staff_page(staff, ref)
    items = doc.select("#documents li")
    assert len(items) == 2 and all("收到：" in li.get_text() for li in items)
    for path in Path(app.config["UPLOAD_DIR"]).iterdir():
        assert PDF not in path.read_bytes() and b"JFIF" not in path.read_bytes()
    # records complete starts the second opinion's clock as before
    assert post_event(staff, ref, "records_complete", D(2026, 12, 1)).status_code == 303
    assert "data-date=" in phone.get(f"/status/{ref}").get_data(as_text=True)


def test_no_one_else_can_send_documents(console) -> None:
    import io

    from tests.support.forms import PDF

    app, staff = console
    ref = new_request(app, "second_opinion", request_date=D(2026, 12, 1), files=False)
    post_event(staff, ref, "documents_requested", D(2026, 12, 1), message="请补充病理报告")
    stranger = app.test_client()
    resp = stranger.post(f"/status/{ref}/documents", content_type="multipart/form-data",
                         data={"document_type": "pathology_report",
                               "files": (io.BytesIO(PDF), "p.pdf")})
    assert resp.status_code == 404


def test_documents_sent_start_a_clock_when_the_content_says_so(tmp_path: Path,
                                                               content_copy: Path) -> None:
    """If an editor makes the second opinion count from the documents the applicant sends,
    the upload stores the queue's next due date from it (it used to be an error)."""
    import io

    from sqlalchemy import select

    from forms_app.storage import get_db
    from forms_app.storage.models import RequestEvent, ServiceRequest
    from tests.support.forms import PDF, hidden

    services = content_copy / "services.yaml"
    text = services.read_text(encoding="utf-8")
    clock = "        working_days: 10\n        starts_after: [records_complete]\n"
    assert text.count(clock) == 1
    services.write_text(text.replace(clock, clock.replace("records_complete",
                                                          "documents_received")),
                        encoding="utf-8")
    app = make_app(tmp_path, TODAY=lambda: D(2026, 12, 1), CONTENT_DIR=str(content_copy))
    staff = signed_in_staff(app)
    ref = new_request(app, "second_opinion", request_date=D(2026, 12, 1), files=False)

    def next_due() -> dt.date | None:
        with app.app_context(), get_db().read_session() as s:
            return s.scalar(select(ServiceRequest.next_due)
                            .where(ServiceRequest.reference == ref))

    assert next_due() is None  # nothing counts yet
    post_event(staff, ref, "documents_requested", D(2026, 12, 1), message="请补充病理报告")
    phone = open_link(app, ref)
    html = phone.get(f"/status/{ref}").get_data(as_text=True)
    token = hidden(html, "csrf_token") if 'name="csrf_token"' in html else ""
    sent = phone.post(f"/status/{ref}/documents", content_type="multipart/form-data", data={
        "csrf_token": token, "document_type": "pathology_report",
        "files": (io.BytesIO(PDF), "病理.pdf")})
    assert sent.status_code == 303
    # ten working days from the day after it was sent (the applicant's real date in Shanghai)
    from service_rules.deadlines import add_working_days

    with app.app_context(), get_db().read_session() as s:
        sent_on = s.scalar(select(RequestEvent.event_date).join(ServiceRequest).where(
            ServiceRequest.reference == ref, RequestEvent.event_id == "documents_received"))
    calendar = app.extensions["forms_rules"].calendar
    assert next_due() == add_working_days(calendar, sent_on, 10).date
