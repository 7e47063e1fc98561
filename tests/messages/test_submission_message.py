"""The message queued at submission: in the same transaction as the request, to the applicant,
with the reference, the service, the promised dates known then, the hotline and a status link
that opens the applicant's page; no personal data; never a second one for a repeated form;
never a promise already kept. Event messages carry the same link."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from forms_app.applicant.access import status_link_token
from forms_app.storage import get_db
from forms_app.storage.models import Outbox, ServiceRequest
from service_rules.identity import format_reference
from service_rules.wording import chinese_date
from tests.support.forms import VALID_ID, VALID_PHONE, hidden, post_form, valid_data
from tests.support.staff import add_staff, new_request, post_event, sign_in
from tests.support.staff import make_app as make_staff_app

BASE = "https://fuwu.example.cn"
FAMILY_PHONE = "13912345678"


def outbox(app: Flask) -> list[Outbox]:
    with app.app_context(), get_db().read_session() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def apply(client: Any, rules: Any, service_id: str, **overrides: Any) -> tuple[str, Any]:
    """Submit the online form; (reference, the form's tokens for a repeat)."""
    page = client.get(f"/apply/{service_id}").get_data(as_text=True)
    tokens = {"csrf_token": hidden(page, "csrf_token"),
              "submission_token": hidden(page, "submission_token")}
    data = {**valid_data(rules, service_id), **overrides}
    resp = post_form(client, service_id, tokens, data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"].rsplit("/", 1)[-1], (tokens, data)


def test_a_submission_queues_one_calm_message_with_dates_and_link(make_app, rules) -> None:
    app = make_app(PUBLIC_BASE_URL=BASE)
    client = app.test_client()
    ref, (tokens, data) = apply(client, rules, "green_channel", use_id="outpatient")
    [message] = outbox(app)
    with app.app_context(), get_db().read_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
        promise = req.initial_promises[0]
    assert message.request_id == req.id and message.sent_at is None
    assert message.recipient_masked == "138****8000"      # the insured applied themselves
    body = message.body
    service = rules.content.service("green_channel")
    assert body.startswith(f"【{rules.content.product.name}】我们已收到您的{service.name}申请")
    assert format_reference(ref) in body
    due = chinese_date(dt.date.fromisoformat(promise["date"]), weekday=False)
    assert f"我们将最晚于{due}{promise['promise']}。" in body
    assert rules.content.product.hotline.display in body
    # no personal data: no name, ID number or phone
    for personal in ("张三", VALID_ID, VALID_ID[-4:], VALID_PHONE, VALID_PHONE[-4:]):
        assert personal not in body
    # the link comes last and opens the applicant's page on a phone with no session
    link = re.search(r"查看办理进度：(\S+)$", body).group(1)
    assert link.startswith(f"{BASE}/status/link/") and ref not in link
    phone = app.test_client()
    opened = phone.get(link.removeprefix(BASE))
    assert opened.status_code == 200 and format_reference(ref) in opened.get_data(as_text=True)
    page = phone.get(f"/status/{ref}")
    assert page.status_code == 200 and format_reference(ref) in page.get_data(as_text=True)
    # the same form sent again (double click, back and resubmit) sends nothing more
    again = post_form(client, "green_channel", tokens, data)
    assert again.status_code == 303 and again.headers["Location"].endswith(ref)
    assert len(outbox(app)) == 1


def test_the_link_is_random_and_a_changed_one_opens_nothing(make_app, rules) -> None:
    app = make_app(PUBLIC_BASE_URL=BASE + "/")
    ref, _ = apply(app.test_client(), rules, "second_opinion")
    [message] = outbox(app)
    link = message.body.rsplit("查看办理进度：", 1)[1]
    assert "//status" not in link     # a trailing slash on the setting is not doubled
    assert link.startswith(f"{BASE}/status/link/") and ref not in link
    forged = app.test_client().get(link.removeprefix(BASE)[:-2] + "xx")
    assert forged.status_code == 404 and "不完整或不正确" in forged.get_data(as_text=True)
    # an old signed link (messages sent before) made with another secret opens nothing
    with app.test_request_context():
        app.config["SECRET_KEY"], secret = "another-secret", app.config["SECRET_KEY"]
        other = status_link_token(ref)
        app.config["SECRET_KEY"] = secret
    resp = app.test_client().get(f"/status/{ref}", query_string={"t": other})
    assert resp.headers["Location"].endswith("/status/")


def test_no_public_address_no_link(make_app, rules) -> None:
    app = make_app()   # PUBLIC_BASE_URL empty by default
    apply(app.test_client(), rules, "second_opinion")
    [message] = outbox(app)
    assert "查看办理进度" not in message.body and "http" not in message.body
    # the second opinion's clock starts when the records are complete: the rule, no date
    assert "日期确定后我们会告诉您" in message.body


def test_a_family_member_who_applied_gets_the_message(make_app, rules) -> None:
    app = make_app()
    apply(app.test_client(), rules, "second_opinion", applicant_relation="子女",
          applicant_name="张小三", applicant_phone=FAMILY_PHONE)
    [message] = outbox(app)
    assert message.recipient_masked == "139****5678"
    assert FAMILY_PHONE not in message.body and "张小三" not in message.body
    with app.app_context():
        crypto = app.extensions["forms_crypto"]
        assert crypto.decrypt_text(message.recipient_enc) == FAMILY_PHONE


def test_a_promise_kept_before_the_message_is_not_announced(tmp_path: Path, rules) -> None:
    """Direct billing's reply promise is kept by 'billing_accepted': a request stored with that
    event already recorded (as staff entering a hotline request after the fact would) gets a
    message without that promise's date."""
    app = make_staff_app(tmp_path, PUBLIC_BASE_URL=BASE)
    day = dt.date(2026, 12, 1)
    new_request(app, "direct_billing", request_date=day,
                details={"admission_date": "2026-12-15"})
    kept_ref = new_request(app, "direct_billing", request_date=day,
                           events={"billing_accepted": day},
                           details={"admission_date": "2026-12-15"})
    plain, kept = outbox(app)
    assert "回复是否启动直付服务" in plain.body
    assert format_reference(kept_ref) in kept.body
    assert "回复是否启动直付服务" not in kept.body


def test_event_messages_carry_the_status_link(tmp_path: Path) -> None:
    app = make_staff_app(tmp_path, PUBLIC_BASE_URL=BASE, TODAY=lambda: dt.date(2026, 3, 4))
    add_staff(app)
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    assert post_event(staff, ref, "records_complete", dt.date(2026, 3, 4)).status_code == 303
    _submitted, message = outbox(app)
    assert "有新进展" in message.body
    link = message.body.rsplit("查看办理进度：", 1)[1]
    phone = app.test_client()
    assert phone.get(link.removeprefix(BASE)).status_code == 200
    assert phone.get(f"/status/{ref}").status_code == 200


def test_a_hotline_request_gets_the_same_message(tmp_path: Path, rules) -> None:
    from tests.staff.test_hotline_intake import hotline

    app = make_staff_app(tmp_path, PUBLIC_BASE_URL=BASE)
    add_staff(app)
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    resp = hotline(staff, rules, "second_opinion")
    assert resp.status_code in (302, 303), resp.status_code
    [message] = outbox(app)
    with app.app_context(), get_db().read_session() as s:
        req = s.scalars(select(ServiceRequest)).one()
    assert message.request_id == req.id and message.recipient_masked == "138****8000"
    assert f"我们已收到您的{rules.content.service('second_opinion').name}申请" in message.body
    link = message.body.rsplit("查看办理进度：", 1)[1]
    assert link.startswith(f"{BASE}/status/link/") and req.reference not in link
