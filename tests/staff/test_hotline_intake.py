"""Hotline intake: staff open a request for a caller with the same form and checks as online;
the consent is recorded as read out by phone (who, which version); the caller follows the same
status page; hotline and online requests are counted together."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.applicant.opening import consent_version
from forms_app.storage import get_db
from forms_app.storage.models import AuditLog, RequestEvent, ServiceRequest
from service_rules.deadlines import shanghai_today
from tests.support.forms import PDF, VALID_ID, hidden, post_form, valid_data
from tests.support.staff import STAFF, make_app, signed_in_staff


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Flask, FlaskClient]:
    app = make_app(tmp_path)
    staff = signed_in_staff(app)
    return app, staff


def hotline(staff: FlaskClient, rules, service_id: str, **overrides) -> object:
    data = valid_data(rules, service_id)
    for key in list(data):
        if key.startswith("doc_"):
            data.pop(key)  # records come later on the phone
    data.update(overrides)
    page = staff.get(f"/staff/intake/{service_id}").get_data(as_text=True)
    data["csrf_token"] = hidden(page, "csrf_token")
    data["submission_token"] = hidden(page, "submission_token")
    return staff.post(f"/staff/intake/{service_id}", data=data,
                      content_type="multipart/form-data")


def only_request(app: Flask) -> ServiceRequest:
    with app.app_context(), get_db().read_session() as s:
        return s.scalars(select(ServiceRequest)).one()


def test_staff_open_a_request_for_a_caller(desk, rules) -> None:
    app, staff = desk
    index = staff.get("/staff/intake/").get_data(as_text=True)
    for service in rules.content.services:
        assert f"/staff/intake/{service.id}" in index
    page = staff.get("/staff/intake/second_opinion").get_data(as_text=True)
    assert rules.content.product.sensitive_consent[:20] in page
    version = consent_version(rules.content.product.sensitive_consent)
    assert version in page

    resp = hotline(staff, rules, "second_opinion")
    assert resp.status_code == 303
    req = only_request(app)
    assert resp.headers["Location"].endswith(f"/staff/requests/{req.reference}")
    assert (req.channel, req.consent_method, req.consent_recorded_by, req.consent_version) == \
        ("hotline", "phone", STAFF, version)
    with app.app_context(), get_db().read_session() as s:
        event = s.scalars(select(RequestEvent).where(RequestEvent.event_id == "request")).one()
        created = s.scalars(select(AuditLog).where(AuditLog.action == "request_created")).one()
    assert event.recorded_by == STAFF and event.details["source"] == "hotline"
    assert created.actor == STAFF
    shown = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已为来电人登记申请" in shown and "服务热线" in shown and "电话中宣读" in shown

    # the caller follows it like an online applicant: reference + last 4 of the ID number
    caller = app.test_client()
    form = caller.get("/status/").get_data(as_text=True)
    status = caller.post("/status/", follow_redirects=True, data={
        "csrf_token": hidden(form, "csrf_token") if "csrf_token" in form else "",
        "reference": req.reference, "last4": VALID_ID[-4:]})
    html = status.get_data(as_text=True)
    assert status.status_code == 200
    assert rules.content.service("second_opinion").flow[0].title in html  # the call itself
    assert ">在线提交申请<" not in html


def test_the_same_checks_as_online(desk, rules) -> None:
    app, staff = desk
    no_consent = hotline(staff, rules, "second_opinion", consent="")
    assert no_consent.status_code == 422
    assert "需要您单独同意处理敏感个人信息" in no_consent.get_data(as_text=True)
    bad_id = hotline(staff, rules, "second_opinion", id_number="110105194912310021")
    assert bad_id.status_code == 422 and "校验码" in bad_id.get_data(as_text=True)
    today = shanghai_today()
    first_time = hotline(staff, rules, "second_opinion", first_diagnosis="no")
    assert first_time.status_code == 422 and "这次申请暂时无法办理" in first_time.text
    assert hotline(staff, rules, "second_opinion").status_code == 303
    again = hotline(staff, rules, "second_opinion")
    assert again.status_code == 422 and "已经使用过" in again.get_data(as_text=True)

    # an online request for the same insured and use is counted with the hotline one
    applicant = app.test_client()
    html = applicant.get("/apply/second_opinion").get_data(as_text=True)
    data = valid_data(rules, "second_opinion", today=today)
    resp = post_form(applicant, "second_opinion", {
        "csrf_token": hidden(html, "csrf_token"),
        "submission_token": hidden(html, "submission_token")}, data)
    assert resp.status_code == 422 and "已经使用过" in resp.get_data(as_text=True)


def test_documents_the_caller_already_sent_may_be_attached(desk, rules) -> None:
    app, staff = desk
    resp = hotline(staff, rules, "direct_billing", **{
        "doc_pathology_report": (io.BytesIO(PDF), "病理报告.pdf")})
    assert resp.status_code == 303
    req = only_request(app)
    assert req.channel == "hotline"
    page = staff.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "病理报告" in page
