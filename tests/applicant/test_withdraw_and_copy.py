"""The applicant's rights from the status page (issue 14): withdraw a request or the consent
after a plain statement of what follows, and download a copy of what we hold. Behind the same
check as the status page; a withdrawn request leaves the staff queue at once (and is shown
above it), staff can record nothing more, and its queued messages are never sent."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.content import get_rules
from forms_app.storage import get_crypto, get_db
from forms_app.storage.casework import RequestClosed, record_event
from forms_app.storage.models import Outbox, RequestDocument, RequestEvent, ServiceRequest
from forms_app.storage.outbox import send_pending
from forms_app.storage.withdrawal import withdraw
from tests.applicant.test_status_page import open_link
from tests.support.privacy import RecordingSender, make_request, person
from tests.support.staff import make_app, post_event, signed_in_staff

D = dt.date


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Flask, FlaskClient]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    app = make_app(tmp_path, url, TODAY=lambda: D(2026, 12, 1))
    staff = signed_in_staff(app)
    return app, staff


def _queued(app: Flask, reference: str) -> int:
    with app.app_context(), get_db().read_session() as s:
        req_id = s.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == reference))
        return len(s.scalars(select(Outbox).where(Outbox.request_id == req_id,
                                                  Outbox.sent_at.is_(None))).all())


def test_withdrawing_a_request_stops_it_in_the_queue_and_its_messages(console) -> None:
    app, staff = console
    ref = make_request(app, person(1), request_date=D(2026, 12, 1))
    other = make_request(app, person(2), request_date=D(2026, 12, 1))
    # staff record a step: a message is queued for each request (after the one of its
    # submission), not sent yet
    for r in (ref, other):
        assert post_event(staff, r, "identity_confirmed", D(2026, 12, 1)).status_code == 303
    assert _queued(app, ref) == 2

    phone = open_link(app, ref)
    status = phone.get(f"/status/{ref}").text
    assert 'id="withdraw-link"' in status and 'id="data-copy"' in status
    # the confirmation step says what follows before anything happens
    page = phone.get(f"/status/{ref}/withdraw")
    assert page.status_code == 200
    assert "不再发送关于这次申请的短信" in page.text and "不算使用次数" in page.text
    assert "30天" in page.text and "确认撤回这次申请" in page.text
    with app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(ServiceRequest.status)
                        .where(ServiceRequest.reference == ref)) == "in_progress"
    done = phone.post(f"/status/{ref}/withdraw", data={"kind": "request"})
    assert done.status_code == 303
    after = phone.get(f"/status/{ref}").text
    assert "已撤回" in after and 'id="request-withdrawn"' in after
    assert 'id="withdraw-link"' not in after or "撤回对处理" in phone.get(
        f"/status/{ref}/withdraw").text

    # staff: gone from the open queue at once, listed above it, closed on its page
    queue = staff.get("/staff/").text
    assert f'data-reference="{ref}" data-urgency' not in queue
    assert f'data-reference="{other}" data-urgency' in queue
    assert 'id="withdrawn"' in queue and f'<li data-reference="{ref}">' in queue
    page = staff.get(f"/staff/requests/{ref}").text
    assert 'data-status="withdrawn"' in page and 'data-privacy="withdrawn"' in page
    assert "申请人撤回" in page
    with app.app_context():
        with pytest.raises(RequestClosed):
            record_event(get_db(), get_rules(), ref, "records_complete", D(2026, 12, 2), {},
                         "wang.fang")
    assert post_event(staff, ref, "records_complete", D(2026, 12, 2)).status_code == 303
    # its queued message is gone; the other request's message is still sent
    assert _queued(app, ref) == 0
    with app.app_context():
        sender = RecordingSender()
        send_pending(get_db(), get_crypto(), sender)
    assert [m.subject for m in sender.sent] == [f"申请 {other[:4]}-{other[4:]}"] * 2


def test_a_message_queued_before_the_withdrawal_committed_is_not_sent(console) -> None:
    """The outbox check: a row that is still there when the sender reaches it is dropped."""
    app, staff = console
    ref = make_request(app, person(3), request_date=D(2026, 12, 1))
    assert post_event(staff, ref, "identity_confirmed", D(2026, 12, 1)).status_code == 303
    with app.app_context():
        db = get_db()
        with db.write_session() as s:  # as if the withdrawal had left the row behind
            req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
            req.status = "withdrawn"
        sender = RecordingSender()
        report = send_pending(db, get_crypto(), sender)
    assert sender.sent == [] and report.sent == 0
    assert _queued(app, ref) == 0


def test_withdrawing_consent_of_a_completed_request_keeps_its_outcome(console) -> None:
    app, staff = console
    ref = make_request(app, person(4), request_date=D(2026, 12, 1))
    assert post_event(staff, ref, "report_issued", D(2026, 12, 1)).status_code == 303
    phone = open_link(app, ref)
    page = phone.get(f"/status/{ref}/withdraw").text
    assert "确认撤回这次申请" not in page            # an ended request cannot be withdrawn
    assert "结果不变" in page and "确认撤回同意" in page
    assert phone.post(f"/status/{ref}/withdraw", data={"kind": "request"}).status_code == 303
    assert phone.post(f"/status/{ref}/withdraw", data={"kind": "consent"}).status_code == 303
    with app.app_context(), get_db().read_session() as s:
        row = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
        assert row.status == "completed"            # still a use of the service
        assert row.consent_withdrawn_at is not None and row.withdrawn_at is None
    assert 'id="consent-withdrawn"' in phone.get(f"/status/{ref}").text
    assert phone.post(f"/status/{ref}/withdraw", data={"kind": "consent"}).status_code == 303
    with app.app_context(), get_db().read_session() as s:
        actions = s.scalars(select(RequestEvent.event_id)
                            .join(ServiceRequest).where(ServiceRequest.reference == ref)).all()
    assert "withdrawn" not in actions


def test_only_a_browser_that_may_see_the_request_can_withdraw_or_copy(console) -> None:
    app, _staff = console
    ref = make_request(app, person(5), request_date=D(2026, 12, 1))
    stranger = app.test_client()
    assert stranger.get(f"/status/{ref}/withdraw").status_code == 303
    assert stranger.post(f"/status/{ref}/withdraw", data={"kind": "request"}).status_code == 404
    assert stranger.get(f"/status/{ref}/copy").status_code == 303
    with app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(ServiceRequest.status)
                        .where(ServiceRequest.reference == ref)) == "open"


def test_the_data_copy_contains_exactly_what_is_stored(console) -> None:
    app, staff = console
    who = person(6)
    ref = make_request(app, who, request_date=D(2026, 12, 1))
    assert post_event(staff, ref, "identity_confirmed", D(2026, 12, 1),
                      note="已电话核实").status_code == 303
    resp = open_link(app, ref).get(f"/status/{ref}/copy")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    data = json.loads(archive.read("data.json"))
    summary = archive.read("summary.txt").decode()
    with app.app_context(), get_db().read_session() as s:
        row = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
        crypto = get_crypto()
        stored = data["request"]
        assert stored["insured_name"] == row.insured_name == who.name
        assert stored["id_number"] == crypto.decrypt_text(row.id_number_enc) == who.id_number
        assert stored["phone"] == who.phone and stored["applicant_phone"] == who.applicant_phone
        assert stored["applicant_name"] == row.applicant_name
        assert stored["policy_number"] == row.policy_number
        assert stored["diagnosis_date"] == row.diagnosis_date.isoformat()
        assert stored["details"] == row.details
        assert stored["consent_text"] == row.consent_text
        assert stored["notice_version"] == row.notice_version == \
            get_rules().content.privacy_file.version
        # every column of the row is in the copy (encrypted ones decrypted), nothing else
        columns = {c.key for c in ServiceRequest.__table__.columns} - {
            "id", "snapshot_id", "register_import_id", "submission_token"}
        renamed = {"id_number_enc": "id_number", "phone_enc": "phone",
                   "applicant_phone_enc": "applicant_phone"}
        assert set(stored) == {renamed.get(c, c) for c in columns}
        events = s.scalars(select(RequestEvent).where(RequestEvent.request_id == row.id)
                           .order_by(RequestEvent.event_date, RequestEvent.id)).all()
        assert [(e["event_id"], e["event_date"], e["details"]) for e in data["events"]] == \
            [(e.event_id, e.event_date.isoformat(), e.details) for e in events]
        docs = s.scalars(select(RequestDocument)
                         .where(RequestDocument.request_id == row.id)).all()
    assert [d["sha256"] for d in data["documents"]] == [d.sha256 for d in docs]
    files = [n for n in archive.namelist() if n.startswith("documents/")]
    assert len(files) == 1 and archive.read(files[0]) == who.file
    # the submission message and the step's
    assert [m["recipient"] for m in data["messages"]] == [who.applicant_phone] * 2
    assert who.name in summary and who.id_number in summary and "已电话核实" in summary
    assert "staff" in {a["by"] for a in data["activity"]}
    assert "wang.fang" not in resp.data.decode("latin-1")  # staff by role only


def test_withdraw_directly_refuses_an_ended_request(console) -> None:
    from forms_app.storage.withdrawal import NotWithdrawable

    app, staff = console
    ref = make_request(app, person(7), request_date=D(2026, 12, 1))
    assert post_event(staff, ref, "report_issued", D(2026, 12, 1)).status_code == 303
    with app.app_context(), pytest.raises(NotWithdrawable):
        withdraw(get_db(), ref, "request", D(2026, 12, 1))


def test_the_form_links_the_notice_and_the_request_records_both_versions(
        app: Flask, client: FlaskClient, submit) -> None:  # type: ignore[no-untyped-def]
    from forms_app.applicant.opening import consent_version

    form = client.get("/apply/second_opinion").text
    assert 'href="/privacy/"' in form
    with app.app_context():
        content = get_rules().content
    assert content.privacy_file.version in form
    resp = submit("second_opinion")
    assert resp.status_code in (200, 303), resp.status_code
    with app.app_context(), get_db().read_session() as s:
        row = s.scalars(select(ServiceRequest)).one()
    assert row.notice_version == content.privacy_file.version
    assert row.consent_version == consent_version(content.product.sensitive_consent)
