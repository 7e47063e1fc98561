"""What staff arranged, as the applicant reads it on the status page and in the message (issue
12): an appointment's hospital, department, date and time, address (the hospital list's when
staff give none) and what to bring; where to send a genetic-testing sample, to whom and with
what; direct billing started and what to sign and hand over. Bad input (too long, control
characters, a sample step without an address) gets a Chinese message at its field and a 422,
and nothing is recorded. An ended or completed request looks ended."""

from __future__ import annotations

import datetime as dt
import types
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.applicant.viewmodels import appointment_line
from forms_app.storage import get_db
from forms_app.storage.models import Outbox, RequestEvent
from tests.support.staff import (
    make_app,
    new_request,
    post_event,
    signed_in_staff,
    soup,
)

D = dt.date
TODAY = D(2026, 12, 1)
BASE = "https://fuwu.example.cn"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Flask, FlaskClient]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    app = make_app(tmp_path, url, TODAY=lambda: TODAY, PUBLIC_BASE_URL=BASE)
    staff = signed_in_staff(app)
    return app, staff


def family(app: Flask, reference: str) -> FlaskClient:
    """The family's phone, opened from the link of the request's first message."""
    with app.app_context(), get_db().read_session() as s:
        body = s.scalars(select(Outbox.body).order_by(Outbox.id)).first()
    phone = app.test_client()
    assert phone.get(body.rsplit("查看办理进度：", 1)[1].removeprefix(BASE)).status_code == 200
    return phone


def arranged(phone: FlaskClient, reference: str) -> str:
    doc = soup(phone.get(f"/status/{reference}").get_data(as_text=True))
    box = doc.select_one("#arranged")
    return box.get_text(" ", strip=True) if box else ""


def last_message(app: Flask) -> str:
    with app.app_context(), get_db().read_session() as s:
        return s.scalars(select(Outbox.body).order_by(Outbox.id.desc())).first()


def test_an_appointment_with_department_address_and_what_to_bring(console) -> None:
    app, staff = console
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=TODAY)
    resp = post_event(staff, ref, "appointment_booked", TODAY, hospital_id="bj-pumch",
                      appointment_date="2026-12-08", appointment_time="09:30",
                      department="肿瘤内科", address="北京市东城区帅府园1号 门诊楼二层",
                      bring="身份证、医保卡\n近期的病理报告")
    assert resp.status_code == 303
    text = arranged(family(app, ref), ref)
    assert "北京协和医院 肿瘤内科" in text and "2026年12月8日" in text and "09:30" in text
    assert "地址：北京市东城区帅府园1号 门诊楼二层。" in text
    assert "请带齐：身份证、医保卡 近期的病理报告。" in text
    body = last_message(app)
    assert "预约医院：北京协和医院 肿瘤内科" in body and "地址：北京市东城区帅府园1号" in body
    assert "请带齐：身份证、医保卡 近期的病理报告。" in body
    assert body.rstrip().rsplit("查看办理进度：", 1)[1].startswith(f"{BASE}/status/link/")


def test_without_details_the_appointment_reads_as_before(console) -> None:
    app, staff = console
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=TODAY)
    assert post_event(staff, ref, "appointment_booked", TODAY, hospital_id="bj-pumch",
                      appointment_date="2026-12-08", appointment_time="09:30").status_code == 303
    text = arranged(family(app, ref), ref)
    assert "地址" not in text and "带好身份证和病历资料" in text


def test_the_address_falls_back_to_the_hospital_list(rules) -> None:
    hospital = rules.content.hospital_by_id["bj-pumch"].model_copy(
        update={"address": "北京市东城区帅府园1号"})
    content = types.SimpleNamespace(hospital_by_id={"bj-pumch": hospital})
    info = {"hospital_id": "bj-pumch", "appointment_date": "2026-12-08",
            "appointment_time": "09:30"}
    assert "地址：北京市东城区帅府园1号。" in appointment_line(content, info)
    # what staff typed wins over the list
    assert "地址：西院区。" in appointment_line(content, {**info, "address": "西院区"})
    plain = types.SimpleNamespace(hospital_by_id={"bj-pumch": rules.content.hospital_by_id[
        "bj-pumch"]})
    assert "地址" not in appointment_line(plain, info)


def test_where_to_send_a_genetic_testing_sample(console) -> None:
    app, staff = console
    ref = new_request(app, "genetic_testing", request_date=TODAY)
    # the applicant cannot send a sample without an address: asked for at its field
    missing = post_event(staff, ref, "sample_guided", TODAY, sample_recipient="检测实验室")
    assert missing.status_code == 422
    field = soup(missing.get_data(as_text=True)).select_one("#event-sample_guided")
    assert "请填写样本寄送地址。" in field.get_text()
    assert 'value="检测实验室"' in str(field)  # nothing typed is lost
    resp = post_event(staff, ref, "sample_guided", TODAY,
                      sample_address="上海市浦东新区张江路100号 基因检测实验室",
                      sample_recipient="样本接收组 021-5555 0000",
                      sample_include="填好的送检单；病理报告复印件")
    assert resp.status_code == 303
    text = arranged(family(app, ref), ref)
    assert "样本寄送：请寄到上海市浦东新区张江路100号 基因检测实验室" in text
    assert "收件人：样本接收组 021-5555 0000" in text
    assert "随样本附上：填好的送检单；病理报告复印件。" in text
    body = last_message(app)
    assert "样本请寄到：上海市浦东新区张江路100号 基因检测实验室，收件人：样本接收组" in body


def test_direct_billing_started_with_what_to_sign_and_hand_over(console) -> None:
    app, staff = console
    ref = new_request(app, "direct_billing", request_date=TODAY,
                      details={"admission_date": "2026-12-15"})
    resp = post_event(staff, ref, "billing_accepted", TODAY,
                      sign_and_hand_over="入院时签署直付/理赔授权书；出院时交住院发票、出院小结")
    assert resp.status_code == 303
    text = arranged(family(app, ref), ref)
    assert "已确认为您启动住院直付服务" in text
    assert "需要签署和交付的材料：入院时签署直付/理赔授权书；出院时交住院发票、出院小结。" in text
    assert "需要签署和交付的材料：入院时签署直付/理赔授权书" in last_message(app)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("department", "科" * 51, "内容太长了，最多50个字。"),
    ("bring", "带" * 301, "内容太长了，最多300个字。"),
    ("address", "帅府园\x00一号", "里有无法显示的字符"),
])
def test_bad_details_get_a_message_at_their_field_and_nothing_is_recorded(
        console, field: str, value: str, message: str) -> None:
    app, staff = console
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=TODAY)
    resp = post_event(staff, ref, "appointment_booked", TODAY, hospital_id="bj-pumch",
                      appointment_date="2026-12-08", appointment_time="09:30",
                      **{field: value})
    assert resp.status_code == 422
    doc = soup(resp.get_data(as_text=True))
    control = doc.select_one(f"#appointment_booked-{field}")
    assert control is not None
    box = control.find_parent(class_="app-field--error")
    assert box is not None and message in box.get_text()
    with app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(RequestEvent.id).where(
            RequestEvent.event_id == "appointment_booked")) is None


def test_a_completed_request_looks_ended(console) -> None:
    app, staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    # the flow's last step (the report) completes a second opinion
    assert post_event(staff, ref, "records_complete", TODAY).status_code == 303
    assert post_event(staff, ref, "report_issued", TODAY).status_code == 303
    phone = family(app, ref)
    html = phone.get(f"/status/{ref}").get_data(as_text=True)
    doc = soup(html)
    assert "服务已完成" in doc.select_one("#ended").get_text()
    assert "已于2026年12月1日（星期二）完成" in html  # the promise kept, not still to come
    assert "到时我们会告诉您具体日期" not in html and "把承诺日期加入日历" not in html
    assert "BEGIN:VEVENT" not in phone.get(f"/apply/confirmation/{ref}.ics").get_data(
        as_text=True)
    # nothing more can be sent for it either
    assert 'id="documents"' not in html
