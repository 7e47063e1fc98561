"""Personal data on the request page, the audit trail, the outbox and its senders, and the
reports (CSV and the monthly page)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.messages.senders import OutgoingMessage
from forms_app.storage import get_crypto, get_db
from forms_app.storage.audit import AuditLogIsAppendOnly
from forms_app.storage.models import AuditLog, Outbox, ServiceRequest
from forms_app.storage.outbox import send_pending
from tests.support.staff import (
    APPLICANT_PHONE,
    ID_NUMBER,
    PDF,
    PHONE,
    STAFF,
    Clock,
    expected_due,
    page,
    post_event,
    soup,
)

D = dt.date


def audit_rows(app: Flask, ref: str) -> list[AuditLog]:
    with app.app_context(), get_db().read_session() as s:
        req_id = s.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == ref))
        return list(s.scalars(select(AuditLog).where(AuditLog.request_id == req_id)
                              .order_by(AuditLog.id)))


def test_id_masked_and_revealed_only_by_a_logged_post(app: Flask, staff: FlaskClient,
                                                      make_request: Callable[..., str]) -> None:
    ref = make_request("second_opinion", request_date=D(2026, 3, 2),
                       applicant_phone=APPLICANT_PHONE)
    response = staff.get(f"/staff/requests/{ref}")
    html = response.get_data(as_text=True)
    assert "110105********002X" in html and "138****8000" in html and "139****5678" in html
    for secret in (ID_NUMBER, PHONE, APPLICANT_PHONE):
        assert secret not in html
    assert response.headers["Cache-Control"] == "no-store"

    response = staff.post(f"/staff/requests/{ref}/reveal", data={"field": "id_number"})
    assert response.status_code == 200
    doc = soup(response.text)
    assert doc.select_one("#id-number").get_text() == ID_NUMBER
    assert PHONE not in response.text           # only the field asked for
    assert response.headers["Cache-Control"] == "no-store"
    # back to masked on the next view
    assert ID_NUMBER not in staff.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert staff.post(f"/staff/requests/{ref}/reveal", data={"field": "policy"}).status_code \
        == 400

    rows = audit_rows(app, ref)
    revealed = [r for r in rows if r.action == "personal_data_revealed"]
    assert len(revealed) == 1
    assert revealed[0].actor == STAFF
    assert revealed[0].details == {"field": "id_number", "masked": "110105********002X",
                                   "reference": ref}
    assert all(ID_NUMBER not in str(r.details) for r in rows)
    # the audit table on the page lists it
    actions = [tr["data-action"] for tr in page(staff, ref).select("#audit tr[data-action]")]
    assert actions.count("personal_data_revealed") == 1 and actions[0] == "request_created"


def test_documents_download_for_staff_only(app: Flask, staff: FlaskClient,
                                           make_request: Callable[..., str]) -> None:
    ref = make_request("direct_billing", request_date=D(2026, 3, 2))
    link = page(staff, ref).select_one("#documents a")["href"]
    response = staff.get(link)
    assert response.status_code == 200
    assert response.data == PDF                       # decrypted
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert [r.action for r in audit_rows(app, ref)].count("document_downloaded") == 1
    anonymous = app.test_client().get(link)
    assert anonymous.status_code == 302 and PDF not in anonymous.data
    # a document id of another request is not found through this one
    other = make_request("second_opinion", request_date=D(2026, 3, 2), files=False)
    assert staff.get(link.replace(ref, other)).status_code == 404


def test_audit_trail_complete_and_append_only(app: Flask, staff: FlaskClient, clock: Clock,
                                              make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 3)
    ref = make_request("genetic_testing", request_date=D(2026, 3, 2))
    post_event(staff, ref, "identity_confirmed", D(2026, 3, 2))
    post_event(staff, ref, "sample_received", D(2026, 3, 3), sample_type="saliva")
    rows = audit_rows(app, ref)
    recorded = [r for r in rows if r.action == "event_recorded"]
    assert [r.details["event_id"] for r in recorded] == ["identity_confirmed",
                                                        "sample_received"]
    sample = recorded[1].details
    assert sample["status_before"] == "in_progress" and sample["status_after"] == "in_progress"
    assert sample["promises_before"] == {"lab_report": None}
    assert sample["promises_after"] == {
        "lab_report": expected_due(app, D(2026, 3, 3), 15).isoformat()}
    assert sample["event_details"] == {"sample_type": "saliva"}
    assert all(r.at.tzinfo is not None for r in rows)
    # append-only: the ORM refuses to change or delete an entry
    with app.app_context():
        with pytest.raises(AuditLogIsAppendOnly):
            with get_db().write_session() as s:
                s.get(AuditLog, rows[0].id).action = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            with get_db().write_session() as s:
                s.delete(s.get(AuditLog, rows[0].id))
    assert [r.action for r in audit_rows(app, ref)] == [r.action for r in rows]


def test_bad_event_input_is_refused_with_messages(app: Flask, staff: FlaskClient, clock: Clock,
                                                  make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 4)
    ref = make_request("green_channel", request_date=D(2026, 3, 3))
    cases = [
        ("identity_confirmed", {"event_date": "2026-03-05"}, "不能晚于今天"),
        ("identity_confirmed", {"event_date": "2026-03-02"}, "不能早于提交申请的日期"),
        ("identity_confirmed", {"event_date": "not a date"}, "日期"),
        ("appointment_booked", {"event_date": "2026-03-04"}, "请填写医院"),
        ("appointment_booked", {"event_date": "2026-03-04", "hospital_id": "nowhere",
                                "appointment_date": "2026-03-05",
                                "appointment_time": "9:30"}, "请从列表中选择医院"),
        ("appointment_booked", {"event_date": "2026-03-04", "appointment_time": "25:00"},
         "时:分"),
    ]
    for event_id, fields, message in cases:
        data = {f"{event_id}-{k}": v for k, v in fields.items()}
        response = staff.post(f"/staff/requests/{ref}/events/{event_id}", data=data)
        assert response.status_code == 422, (event_id, fields)
        assert message in response.get_data(as_text=True), (event_id, fields)
    # an event the service does not have
    assert post_event(staff, ref, "sample_received", clock.day).status_code == 404
    assert [tr["data-event"] for tr in page(staff, ref).select("#events tr[data-event]")] \
        == ["request"]


def test_outbox_sent_by_command_with_the_phone_masked(
        app: Flask, staff: FlaskClient, clock: Clock, caplog: pytest.LogCaptureFixture,
        make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 4)
    ref = make_request("second_opinion", request_date=D(2026, 3, 2))
    post_event(staff, ref, "records_complete", D(2026, 3, 4))
    due = expected_due(app, D(2026, 3, 4), 10)
    with app.app_context(), get_db().read_session() as s:
        submitted, message = list(s.scalars(select(Outbox).order_by(Outbox.id)))
    assert "已收到" in submitted.body and submitted.recipient_masked == "138****8000"
    assert message.recipient_masked == "138****8000" and message.sent_at is None
    assert f"{due.year}年{due.month}月{due.day}日" in message.body
    assert f"{ref[:4]}-{ref[4:]}" in message.body

    caplog.set_level(logging.INFO, logger="forms_app.messages.senders")
    result = app.test_cli_runner().invoke(args=["send-outbox"], env={"OUTBOX_SENDER": "log"})
    # the log sender delivers nothing, and says so
    assert result.exit_code == 0 and "written to the log 2, delivered 0" in result.output
    assert "failed 0" in result.output
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "138****8000" in logged and PHONE not in logged and ID_NUMBER not in logged
    assert "张三" not in logged
    with app.app_context(), get_db().read_session() as s:
        assert all(s.scalars(select(Outbox.sent_at)))
    result = app.test_cli_runner().invoke(args=["send-outbox"])
    assert "written to the log 0" in result.output


def test_a_failing_sender_is_retried(app: Flask, staff: FlaskClient, clock: Clock,
                                     make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 4)
    ref = make_request("second_opinion", request_date=D(2026, 3, 2))
    post_event(staff, ref, "identity_confirmed", D(2026, 3, 3))

    class Broken:
        def send(self, message: OutgoingMessage) -> None:
            raise ConnectionError("smtp down")

    class Recorder:
        sent: list[OutgoingMessage] = []

        def send(self, message: OutgoingMessage) -> None:
            self.sent.append(message)

    with app.app_context():
        report = send_pending(get_db(), get_crypto(), Broken())  # submission + step
        assert (report.sent, report.failed) == (0, 2)
        with get_db().read_session() as s:
            row = s.scalar(select(Outbox))
            assert row.attempts == 1 and "ConnectionError" in row.last_error
        recorder = Recorder()
        # not again at once (the back-off), but after it
        assert send_pending(get_db(), get_crypto(), recorder).sent == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
        assert send_pending(get_db(), get_crypto(), recorder, now=later).sent == 2
        assert recorder.sent[0].recipient == PHONE   # decrypted for the sender only


def test_csv_export_says_whether_each_promise_was_kept(app: Flask, staff: FlaskClient,
                                                       clock: Clock,
                                                       make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 2)
    kept = make_request("direct_billing", request_date=D(2026, 3, 2))
    late = make_request("green_channel", request_date=D(2026, 3, 2))
    open_ = make_request("second_opinion", request_date=D(2026, 3, 2))
    clock.day = D(2026, 3, 5)
    post_event(staff, kept, "billing_accepted", D(2026, 3, 5))   # due 03-05: on the day
    clock.day = D(2026, 3, 20)
    hospital = page(staff, late).select(
        "#event-appointment_booked select[name$=hospital_id] option")[1]["value"]
    post_event(staff, late, "appointment_booked", D(2026, 3, 20), hospital_id=hospital,
               appointment_date="2026-03-25", appointment_time="08:00")
    response = staff.get("/staff/reports/promises.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_ref = {r["申请编号"].replace("-", ""): r for r in rows}
    assert set(by_ref) == {kept, late, open_}
    due_kept = expected_due(app, D(2026, 3, 2), 3)
    assert due_kept == D(2026, 3, 5)
    assert by_ref[kept]["承诺日期"] == due_kept.isoformat()
    assert by_ref[kept]["兑现日期"] == "2026-03-05" and by_ref[kept]["是否兑现"] == "是"
    assert by_ref[late]["承诺日期"] == expected_due(app, D(2026, 3, 2), 5).isoformat()
    assert by_ref[late]["结果"] == "逾期兑现" and by_ref[late]["是否兑现"] == "否"
    assert by_ref[open_]["承诺日期"] == "" and by_ref[open_]["是否兑现"] == ""
    text = response.data.decode("utf-8-sig")
    assert "张三" not in text and "002X" not in text
    with app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "report_exported")) \
            == STAFF


def test_monthly_report_table_and_chart(app: Flask, staff: FlaskClient, clock: Clock,
                                        make_request: Callable[..., str]) -> None:
    # last month (February 2026): one reply kept; this month (March): one kept, one broken,
    # one pending
    clock.day = D(2026, 2, 24)
    feb = make_request("direct_billing", request_date=D(2026, 2, 24))
    post_event(staff, feb, "billing_accepted", D(2026, 2, 24))
    clock.day = D(2026, 3, 2)
    kept = make_request("direct_billing", request_date=D(2026, 3, 2))
    post_event(staff, kept, "billing_declined", D(2026, 3, 2), reason="不在合作医院")
    make_request("direct_billing", request_date=D(2026, 3, 3))          # broken by 03-16
    clock.day = D(2026, 3, 16)
    make_request("direct_billing", request_date=D(2026, 3, 16))         # pending
    doc = soup(staff.get("/staff/reports").text)
    this_month = doc.select_one("#report-1 tr[data-service=direct_billing]")
    last_month = doc.select_one("#report-2 tr[data-service=direct_billing]")
    assert (this_month["data-kept"], this_month["data-not-kept"], this_month["data-pending"]) \
        == ("1", "1", "1")
    assert (last_month["data-kept"], last_month["data-not-kept"]) == ("1", "0")
    assert "50.0%" in this_month.get_text() and "100.0%" in last_month.get_text()
    bars = {b["data-bar"]: int(b["width"]) for b in doc.select("svg rect[data-bar]")}
    assert bars["直付-上月"] == 2 * bars["直付-本月"] > 0
    assert doc.find("script") is None
