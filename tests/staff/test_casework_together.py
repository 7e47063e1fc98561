"""Staff working together (issue 12): internal notes that applicants never see, undoing a
wrongly recorded event and reopening an ended request, each audited with its reason. On SQLite
and PostgreSQL (`any_app`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.content import get_rules
from forms_app.storage import get_crypto, get_db, upload_dir
from forms_app.storage.datacopy import request_copy
from forms_app.storage.models import (
    AuditLog,
    CaseworkNote,
    Outbox,
    RequestEvent,
    ServiceRequest,
)
from tests.support.staff import (
    APPLICANT_PHONE,
    ID_NUMBER,
    Clock,
    expected_due,
    new_request,
    page,
    post_event,
    shown_promises,
    signed_in_staff,
    soup,
    status_of,
)

D = dt.date
NOTE = "家属来电：患者下周二起化疗，复诊请避开周二上午"


@pytest.fixture
def desk(any_app: Flask, clock: Clock) -> tuple[Flask, FlaskClient]:
    """The console on both databases, signed in, "today" frozen by `clock`."""
    any_app.config.update(WTF_CSRF_ENABLED=False, TODAY=clock)
    staff = signed_in_staff(any_app)
    return any_app, staff


def audit_rows(app: Flask, action: str) -> list[AuditLog]:
    with app.app_context(), get_db().read_session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)
                              .order_by(AuditLog.id)))


def applicant_page(app: Flask, reference: str) -> str:
    """The status page as the applicant reads it after looking the request up."""
    phone = app.test_client()
    found = phone.post("/status/", data={"reference": reference, "last4": ID_NUMBER[-4:]})
    assert found.status_code == 303, found.status_code
    resp = phone.get(f"/status/{reference}")
    assert resp.status_code == 200
    return resp.text


def field_errors(html: str, field_id: str) -> list[str]:
    """The messages shown in the field block of the control `field_id`."""
    control = soup(html).find(id=field_id)
    assert control is not None, field_id
    block = control.find_parent(class_="app-field")
    return [p.get_text(strip=True) for p in block.select(".app-error")]


def stored_due(app: Flask, reference: str) -> dt.date | None:
    """The queue's stored next due date (storage/queue_order.py)."""
    with app.app_context(), get_db().read_session() as s:
        return s.scalar(select(ServiceRequest.next_due)
                        .where(ServiceRequest.reference == reference))


def event_row(app: Flask, reference: str, event_id: str) -> int:
    with app.app_context(), get_db().read_session() as s:
        return s.scalar(select(RequestEvent.id).where(RequestEvent.event_id == event_id)
                        .order_by(RequestEvent.id.desc()))


# -- notes ------------------------------------------------------------------------------------
def test_a_note_is_listed_with_author_and_time_stored_encrypted_and_audited_without_text(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    resp = staff.post(f"/staff/requests/{ref}/notes", data={"text": f"  {NOTE}  "})
    assert resp.status_code == 303
    doc = page(staff, ref)
    [note] = doc.select("#notes li")
    assert note.select_one(".staff-note__text").get_text() == NOTE
    assert "wang.fang" in note.get_text() and "北京时间" in note.get_text()
    with app.app_context(), get_db().read_session() as s:
        [stored] = s.scalars(select(CaseworkNote))
        assert NOTE not in stored.text_enc and "化疗" not in stored.text_enc
        assert get_crypto().decrypt_text(stored.text_enc) == NOTE
    [entry] = audit_rows(app, "note_added")
    assert entry.actor == "wang.fang" and entry.details["length"] == len(NOTE)
    assert NOTE not in json.dumps(entry.details, ensure_ascii=False)


@pytest.mark.parametrize(("text", "message"), [
    ("", "请填写备注内容。"),
    ("   ", "请填写备注内容。"),
    ("很长" * 1001, "备注最多 2000 个字。"),
])
def test_a_bad_note_gets_its_message_at_the_field_and_keeps_what_was_typed(
        desk: tuple[Flask, FlaskClient], text: str, message: str) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    resp = staff.post(f"/staff/requests/{ref}/notes", data={"text": text})
    assert resp.status_code == 422
    assert field_errors(resp.text, "text") == [message]
    if text.strip():
        # (a textarea's first newline is not part of its value)
        assert soup(resp.text).find(id="text").get_text().removeprefix("\r\n") == text
    with app.app_context(), get_db().read_session() as s:
        assert s.scalars(select(CaseworkNote)).first() is None


def test_an_expired_page_keeps_the_note_and_the_reason_typed(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    row = event_row(app, ref, "identity_confirmed")
    app.config["WTF_CSRF_ENABLED"] = True
    for path, field, data in [
            (f"/staff/requests/{ref}/notes", "text", {"text": NOTE}),
            (f"/staff/requests/{ref}/events/{row}/undo", f"undo-{row}-reason",
             {f"undo-{row}-reason": "记错了日期"})]:
        resp = staff.post(path, data={**data, "csrf_token": "from-a-page-left-open"})
        assert resp.status_code == 400, path
        assert field_errors(resp.text, field) == [
            "页面停留时间较长，为了安全请再提交一次；您填写的内容还在。"]
        assert soup(resp.text).find(id=field).get_text().strip() == data[field]
    with app.app_context(), get_db().read_session() as s:
        assert s.scalars(select(CaseworkNote)).first() is None
    assert not audit_rows(app, "event_undone")


def test_notes_never_reach_the_applicant_but_are_in_their_copy_of_their_data(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2),
                      applicant_phone=APPLICANT_PHONE)
    assert staff.post(f"/staff/requests/{ref}/notes", data={"text": NOTE}).status_code == 303
    # an event the applicant is told of, queued after the note
    assert post_event(staff, ref, "documents_requested", D(2026, 3, 2),
                      message="请补充最近一次的CT报告").status_code == 303
    status_page = applicant_page(app, ref)
    assert "CT报告" in status_page  # the page does show what staff asked for
    assert "化疗" not in status_page and "备注" not in status_page
    public = app.test_client()
    for path in ("/api/services", "/api/openapi.json", f"/status/{ref}/withdraw"):
        assert "化疗" not in public.get(path).text
    with app.app_context():
        with get_db().read_session() as s:
            bodies = [m.body for m in s.scalars(select(Outbox))]
        assert len(bodies) == 2 and not any("化疗" in b for b in bodies)
        # the privacy notice promises the copy holds everything kept about the request
        copy = request_copy(get_db(), get_crypto(), upload_dir(), ref)
    assert [n["text"] for n in copy.data["notes"]] == [NOTE]
    assert copy.data["notes"][0]["by"] == "staff"


# -- undo -------------------------------------------------------------------------------------
def test_undo_takes_the_event_out_of_promises_status_and_the_applicant_page_audited(
        desk: tuple[Flask, FlaskClient], clock: Clock) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    clock.day = D(2026, 3, 4)
    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    assert post_event(staff, ref, "records_complete", D(2026, 3, 3)).status_code == 303
    due = expected_due(app, D(2026, 3, 3), 10)
    assert shown_promises(page(staff, ref))["opinion_report"]["due"] == due
    assert stored_due(app, ref) == due
    assert due.isoformat() in applicant_page(app, ref) or \
        f"{due.month}月{due.day}日" in applicant_page(app, ref)

    row = event_row(app, ref, "records_complete")
    resp = staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                      data={f"undo-{row}-reason": "病历其实还缺出院小结，记录得太早了"})
    assert resp.status_code == 303
    doc = page(staff, ref)
    promise = shown_promises(doc)["opinion_report"]
    assert promise["due"] is None and promise["outcome"] == "waiting"
    assert stored_due(app, ref) is None  # the queue no longer sorts it by that date
    assert status_of(doc) == "in_progress"
    assert [r["data-event"] for r in doc.select("#events tbody tr")] == \
        ["request", "identity_confirmed"]
    [undone] = doc.select("#undone tbody tr")
    assert undone["data-event"] == "records_complete"
    assert "出院小结" in undone.get_text() and "wang.fang" in undone.get_text()
    assert "records_complete" in doc.select_one("#next-event")["data-event"]
    shown = applicant_page(app, ref)
    assert f"{due.month}月{due.day}日" not in shown and due.isoformat() not in shown
    [entry] = audit_rows(app, "event_undone")
    assert entry.actor == "wang.fang" and entry.details["event_id"] == "records_complete"
    assert entry.details["undo_reason"] == "病历其实还缺出院小结，记录得太早了"
    assert entry.details["promises_before"]["opinion_report"] == due.isoformat()
    assert entry.details["promises_after"]["opinion_report"] is None
    with app.app_context(), get_db().read_session() as s:
        kept = s.get(RequestEvent, row)
        assert kept.undone_by == "wang.fang" and kept.undone_at is not None

    # the step can be recorded again, and undoing the last staff event leaves it open
    assert post_event(staff, ref, "records_complete", D(2026, 3, 4)).status_code == 303
    assert shown_promises(page(staff, ref))["opinion_report"]["due"] == \
        expected_due(app, D(2026, 3, 4), 10)
    first = event_row(app, ref, "identity_confirmed")
    second = event_row(app, ref, "records_complete")
    for r in (second, first):
        assert staff.post(f"/staff/requests/{ref}/events/{r}/undo",
                          data={f"undo-{r}-reason": "记录错了申请"}).status_code == 303
    assert status_of(page(staff, ref)) == "open"


def test_undo_needs_a_reason_at_its_field_and_touches_only_its_own_request(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    other = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    row = event_row(app, ref, "identity_confirmed")
    for reason in ("", "  "):
        resp = staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                          data={f"undo-{row}-reason": reason})
        assert resp.status_code == 422
        assert field_errors(resp.text, f"undo-{row}-reason") == ["请填写撤销的原因。"]
        assert soup(resp.text).select_one(f"#undo-{row}").has_attr("open")
    too_long = staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                          data={f"undo-{row}-reason": "错" * 501})
    assert too_long.status_code == 422
    assert field_errors(too_long.text, f"undo-{row}-reason") == ["原因最多 500 个字。"]
    # an event of another request, or none at all, is never undone from this page
    wrong = staff.post(f"/staff/requests/{other}/events/{row}/undo",
                       data={f"undo-{row}-reason": "试一下"})
    assert wrong.status_code == 303
    assert staff.post(f"/staff/requests/{ref}/events/999999/undo",
                      data={"undo-999999-reason": "试一下"}).status_code == 303
    # the request's own opening cannot be undone: no form for it
    opening = event_row(app, ref, "request")
    assert page(staff, ref).select_one(f"#undo-{opening}") is None
    assert staff.post(f"/staff/requests/{ref}/events/{opening}/undo",
                      data={f"undo-{opening}-reason": "试一下"}).status_code == 303
    assert status_of(page(staff, ref)) == "in_progress"
    assert not audit_rows(app, "event_undone")


def test_the_message_of_an_undone_event_is_not_sent_and_staff_hear_of_one_already_sent(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert post_event(staff, ref, "documents_requested", D(2026, 3, 2),
                      message="请补充出院小结").status_code == 303
    row = event_row(app, ref, "documents_requested")
    resp = staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                      data={f"undo-{row}-reason": "问错了资料"}, follow_redirects=True)
    assert "还没有发出的通知短信已取消" in resp.text
    with app.app_context(), get_db().read_session() as s:
        bodies = [m.body for m in s.scalars(select(Outbox))]
    assert len(bodies) == 1 and "出院小结" not in bodies[0]  # the submission's stays

    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    with app.app_context(), get_db().write_session() as s:
        for m in s.scalars(select(Outbox)):
            m.sent_at = m.created_at  # delivered meanwhile
    row = event_row(app, ref, "identity_confirmed")
    resp = staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                      data={f"undo-{row}-reason": "还没有核实"}, follow_redirects=True)
    assert "短信已经发给申请人，请致电申请人说明" in resp.text
    [first, second] = audit_rows(app, "event_undone")
    assert (first.details["messages_cancelled"], first.details["message_was_sent"]) == (1, False)
    assert (second.details["messages_cancelled"], second.details["message_was_sent"]) == \
        (0, True)


# -- reopen -----------------------------------------------------------------------------------
def test_an_ended_request_is_reopened_with_a_reason_and_shows_in_progress_again(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    assert post_event(staff, ref, "lapsed", D(2026, 3, 2),
                      reason="申请人暂不需要").status_code == 303
    doc = page(staff, ref)
    assert status_of(doc) == "lapsed" and not doc.select("[id^=undo-]")
    assert stored_due(app, ref) is None
    assert "服务终止" in applicant_page(app, ref)

    empty = staff.post(f"/staff/requests/{ref}/reopen", data={"reason": " "})
    assert empty.status_code == 422
    assert field_errors(empty.text, "reason") == ["请填写重新打开的原因。"]
    resp = staff.post(f"/staff/requests/{ref}/reopen",
                      data={"reason": "申请人来电，仍需要第二诊疗意见"})
    assert resp.status_code == 303
    doc = page(staff, ref)
    assert status_of(doc) == "in_progress" and doc.select_one("#reopen") is None
    assert [r["data-event"] for r in doc.select("#undone tbody tr")] == ["lapsed"]
    shown = applicant_page(app, ref)
    assert "处理中" in shown and "服务终止" not in shown and "暂不需要" not in shown
    [entry] = audit_rows(app, "request_reopened")
    assert entry.details["reopen_reason"] == "申请人来电，仍需要第二诊疗意见"
    assert (entry.details["status_before"], entry.details["status_after"]) == \
        ("lapsed", "in_progress")
    # work goes on as before
    assert post_event(staff, ref, "records_complete", D(2026, 3, 2)).status_code == 303
    assert shown_promises(page(staff, ref))["opinion_report"]["due"] == \
        expected_due(app, D(2026, 3, 2), 10) == stored_due(app, ref)


def test_a_reopened_request_is_back_in_the_queue_by_its_running_promise(
        desk: tuple[Flask, FlaskClient]) -> None:
    app, staff = desk
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=D(2026, 3, 2))
    due = expected_due(app, D(2026, 3, 2), 5)
    assert stored_due(app, ref) == due
    assert post_event(staff, ref, "lapsed", D(2026, 3, 2), reason="暂不需要").status_code == 303
    assert stored_due(app, ref) is None
    assert staff.post(f"/staff/requests/{ref}/reopen",
                      data={"reason": "家属来电仍需预约"}).status_code == 303
    assert stored_due(app, ref) == due
    assert shown_promises(page(staff, ref))["outpatient_arranged"]["due"] == due


def test_an_open_or_withdrawn_request_is_not_reopened(desk: tuple[Flask, FlaskClient]) -> None:
    from forms_app.storage.withdrawal import withdraw
    from service_rules.retention import WITHDRAW_REQUEST

    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    withdrawn = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    with app.app_context():
        withdraw(get_db(), withdrawn, WITHDRAW_REQUEST, D(2026, 3, 2))
    for reference, status in [(ref, "open"), (withdrawn, "withdrawn")]:
        doc = page(staff, reference)
        assert doc.select_one("#reopen") is None and not doc.select("[id^=undo-]")
        assert staff.post(f"/staff/requests/{reference}/reopen",
                          data={"reason": "试一下"}).status_code == 303
        assert status_of(page(staff, reference)) == status
    assert not audit_rows(app, "request_reopened")


def test_reopening_never_makes_a_second_use_of_the_same_service(
        desk: tuple[Flask, FlaskClient], clock: Clock) -> None:
    app, staff = desk
    first = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert post_event(staff, first, "lapsed", D(2026, 3, 2),
                      reason="资料不全").status_code == 303
    second = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    resp = staff.post(f"/staff/requests/{first}/reopen", data={"reason": "误操作"})
    assert resp.status_code == 409
    [message] = field_errors(resp.text, "reason")
    assert "不能重新打开" in message and second[:4] in message
    assert status_of(page(staff, first)) == "lapsed"


def test_retention_deletes_the_notes_and_the_reasons_of_undone_events(
        desk: tuple[Flask, FlaskClient]) -> None:
    from forms_app.storage.retention import apply_retention

    app, staff = desk
    ref = new_request(app, "second_opinion", request_date=D(2026, 3, 2))
    assert staff.post(f"/staff/requests/{ref}/notes", data={"text": NOTE}).status_code == 303
    assert post_event(staff, ref, "identity_confirmed", D(2026, 3, 2)).status_code == 303
    row = event_row(app, ref, "identity_confirmed")
    assert staff.post(f"/staff/requests/{ref}/events/{row}/undo",
                      data={f"undo-{row}-reason": "患者化疗中，稍后再确认"}).status_code == 303
    assert post_event(staff, ref, "lapsed", D(2026, 3, 2), reason="不再需要").status_code == 303
    with app.app_context():
        settings = get_rules().content.privacy_file.retention
        report = apply_retention(get_db(), upload_dir(), settings, D(2030, 1, 1))
        assert report.deleted == [ref]
        with get_db().read_session() as s:
            assert s.scalars(select(CaseworkNote)).first() is None
            undone = s.get(RequestEvent, row)
            assert undone.undone_at is not None and undone.undo_reason is None
            texts = json.dumps([a.details for a in s.scalars(select(AuditLog))],
                               ensure_ascii=False)
    assert "化疗" not in texts
    [entry] = audit_rows(app, "personal_data_deleted")
    assert entry.details["notes"] == 1


def test_the_applicant_hears_that_a_reopened_request_goes_on(
        desk: tuple[Flask, FlaskClient]) -> None:
    """They were told it ended: reopening tells them it is handled again, with what is due by
    when from now on and their status link, not the ended result."""
    app, staff = desk
    app.config["PUBLIC_BASE_URL"] = "https://fuwu.example.cn"
    ref = new_request(app, "green_channel", use_id="outpatient", request_date=D(2026, 3, 2))
    assert post_event(staff, ref, "lapsed", D(2026, 3, 2), reason="暂不需要").status_code == 303

    def bodies() -> list[str]:
        with app.app_context(), get_db().read_session() as s:
            req_id = s.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == ref))
            return list(s.scalars(select(Outbox.body).where(Outbox.request_id == req_id)
                                  .order_by(Outbox.id)))

    with app.app_context(), get_db().write_session() as s:  # "服务终止" has reached them
        for row in s.scalars(select(Outbox)):
            row.sent_at = row.created_at
    before = bodies()
    assert "服务终止" in before[-1]
    resp = staff.post(f"/staff/requests/{ref}/reopen", data={"reason": "家属来电仍需预约"},
                      follow_redirects=True)
    assert "已排队通知申请人" in resp.text
    after = bodies()
    assert after[:len(before)] == before and len(after) == len(before) + 1
    text = after[-1]
    due = expected_due(app, D(2026, 3, 2), 5)
    assert "已重新开始办理" in text and f"{due.month}月{due.day}日" in text
    assert "安排门诊" in text and "暂不需要" not in text
    assert "https://fuwu.example.cn/status/link/" in text
