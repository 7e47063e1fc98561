"""Status links that can be refreshed, bookmarked and revoked (issue 12), on SQLite and
PostgreSQL: a random token in the address and nothing else, kept only as a keyed hash with
its request, expiry (120 days) and revocation; revoked by staff (audited), by the applicant
(a new link instead), by a withdrawal and by the deletion of the data; an expired, revoked or
unknown token gets a calm page with the lookup form (410 or 404), never a 500; old signed
links still open until revoked; failed tries count against the status limit; the token is
never logged."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.applicant.access import status_link_token
from forms_app.content import get_rules
from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import AuditLog, Outbox, ServiceRequest, StatusLink
from forms_app.storage.retention import apply_retention
from forms_app.storage.status_links import LINK_DAYS, issue_token, token_hash
from forms_app.storage.withdrawal import withdraw
from service_rules.identity import format_reference
from tests.support.staff import (
    ID_NUMBER,
    PHONE,
    make_app,
    new_request,
    post_event,
    signed_in_staff,
)

D = dt.date
BASE = "https://fuwu.example.cn"
TODAY = D(2026, 12, 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Flask, FlaskClient]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    app = make_app(tmp_path, url, TODAY=lambda: TODAY, PUBLIC_BASE_URL=BASE)
    staff = signed_in_staff(app)
    return app, staff


def links_sent(app: Flask, reference: str) -> list[str]:
    """The status links of the request's messages, oldest first."""
    with app.app_context(), get_db().read_session() as s:
        req_id = s.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == reference))
        bodies = s.scalars(select(Outbox.body).where(Outbox.request_id == req_id)
                           .order_by(Outbox.id)).all()
    return [re.search(r"查看办理进度：(\S+)$", b).group(1).removeprefix(BASE) for b in bodies]


def is_lookup_page(resp, status: int) -> bool:
    html = resp.get_data(as_text=True)
    return resp.status_code == status and 'name="reference"' in html and 'name="last4"' in html


def test_a_message_link_opens_the_page_and_names_nothing(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    token = link.removeprefix("/status/link/")
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    for named in (ref, format_reference(ref), ID_NUMBER, ID_NUMBER[-4:], PHONE, "张三"):
        assert named not in link
    phone = app.test_client()
    first = phone.get(link)
    assert first.status_code == 200 and format_reference(ref) in first.get_data(as_text=True)
    # refreshed or bookmarked: the same address opens the same page, on any browser
    assert phone.get(link).status_code == 200
    assert app.test_client().get(link).status_code == 200
    # and the browser may use the page's own addresses while the link works
    assert phone.get(f"/status/{ref}").status_code == 200


def test_the_token_is_stored_only_as_a_keyed_hash_with_its_expiry(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    token = link.removeprefix("/status/link/")
    with app.app_context(), get_db().read_session() as s:
        [row] = s.scalars(select(StatusLink)).all()
        values = [str(getattr(row, c.key)) for c in StatusLink.__table__.columns]
        assert row.token_hash == token_hash(get_crypto(), token) != token
        assert row.expires_at - row.created_at == dt.timedelta(days=LINK_DAYS)
        assert row.revoked_at is None
    assert not any(token in v for v in values)


def test_staff_revoke_every_link_and_a_browser_that_opened_one_is_shut_out(console) -> None:
    app, staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    assert post_event(staff, ref, "identity_confirmed", TODAY).status_code == 303
    links = links_sent(app, ref)
    assert len(links) == 2 and links[0] != links[1]  # each message its own link
    phone = app.test_client()
    assert phone.get(links[0]).status_code == 200
    page = staff.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert re.search(r'id="active-links">2<', page)
    with app.test_request_context():
        legacy = status_link_token(ref)  # a link of the earlier kind, sent before
    old_phone = app.test_client()
    opened = old_phone.get(f"/status/{ref}", query_string={"t": legacy})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/status/{ref}")
    assert old_phone.get(f"/status/{ref}").status_code == 200
    # in its place a stored link, expiring when the old one would
    page = staff.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert re.search(r'id="active-links">3<', page)

    done = staff.post(f"/staff/requests/{ref}/links/revoke")
    assert done.status_code == 303
    assert "已停止这个申请的全部进度链接" in staff.get(done.headers["Location"]).text
    for link in links:
        assert is_lookup_page(app.test_client().get(link), 410)
    gone = phone.get(links[0])
    assert is_lookup_page(gone, 410) and "已经失效" in gone.get_data(as_text=True)
    # the phones that opened a link before see nothing more through their sessions
    assert phone.get(f"/status/{ref}").headers["Location"].endswith("/status/")
    assert old_phone.get(f"/status/{ref}").headers["Location"].endswith("/status/")
    assert phone.get(f"/apply/confirmation/{ref}.ics").status_code == 404
    # the old signed link stops too
    old = app.test_client().get(f"/status/{ref}", query_string={"t": legacy})
    assert old.headers["Location"].endswith("/status/")
    page = staff.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert re.search(r'id="active-links">0<', page)
    with app.app_context(), get_db().read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "status_links_revoked")
                          ).one()
    assert entry.actor == "wang.fang" and entry.details["links"] == 3
    # the next message carries a new link that works
    assert post_event(staff, ref, "records_complete", TODAY).status_code == 303
    assert app.test_client().get(links_sent(app, ref)[-1]).status_code == 200


def test_the_applicant_stops_the_old_links_and_gets_a_new_one(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    phone = app.test_client()
    page = phone.get(link).get_data(as_text=True)
    assert 'id="renew-links"' in page
    resp = phone.post(f"/status/{ref}/links")
    assert resp.status_code == 303
    after = phone.get(f"/status/{ref}")
    html = after.get_data(as_text=True)
    assert after.status_code == 200 and 'id="new-link"' in html
    new = re.search(r'href="http://localhost(/status/link/[A-Za-z0-9_-]+)"', html).group(1)
    assert new != link
    assert is_lookup_page(app.test_client().get(link), 410)
    assert app.test_client().get(new).status_code == 200
    # shown once only
    assert 'id="new-link"' not in phone.get(f"/status/{ref}").get_data(as_text=True)
    with app.app_context(), get_db().read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "status_links_revoked")
                          ).one()
    assert entry.actor != "wang.fang" and entry.details == {
        "reference": ref, "links": 1, "new_link": True}
    # a stranger cannot stop anyone's links
    assert app.test_client().post(f"/status/{ref}/links").status_code == 404


def test_a_withdrawal_stops_every_link(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    with app.app_context():
        withdraw(get_db(), ref, "request", TODAY)
    assert is_lookup_page(app.test_client().get(link), 410)


def test_the_deletion_of_the_data_stops_every_link(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    with app.test_request_context():
        legacy = status_link_token(ref)
        db = get_db()
        # a link made after the withdrawal (e.g. a staff message) stops with the deletion
        withdraw(db, ref, "consent", TODAY)
        with db.write_connection() as conn:
            req_id = conn.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == ref))
            later = issue_token(conn, get_crypto(), req_id)
        assert app.test_client().get(f"/status/link/{later}").status_code == 200
        settings = get_rules().content.privacy_file.retention
        report = apply_retention(db, Path(app.config["UPLOAD_DIR"]), settings,
                                 TODAY + dt.timedelta(days=settings.withdrawn_grace_days + 2))
        assert report.deleted == [ref]
    for address in (link, f"/status/link/{later}"):
        assert is_lookup_page(app.test_client().get(address), 410)
    old = app.test_client().get(f"/status/{ref}", query_string={"t": legacy})
    assert old.headers["Location"].endswith("/status/")


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 500, "abc.def", "%00"])
def test_unknown_tokens_get_the_lookup_form_and_a_404(console, token: str) -> None:
    app, _staff = console
    resp = app.test_client().get(f"/status/link/{token}")
    assert resp.status_code in (404, 400)
    if resp.status_code == 404:
        assert is_lookup_page(resp, 404) and "不完整或不正确" in resp.get_data(as_text=True)


def test_an_expired_link_gets_a_calm_410(console) -> None:
    app, _staff = console
    ref = new_request(app, "second_opinion", request_date=TODAY)
    with app.app_context():
        with get_db().write_connection() as conn:
            req_id = conn.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == ref))
            old = issue_token(conn, get_crypto(), req_id,
                              dt.datetime.now(dt.UTC) - dt.timedelta(days=LINK_DAYS, seconds=1))
            fresh = issue_token(conn, get_crypto(), req_id,
                                dt.datetime.now(dt.UTC) - dt.timedelta(days=LINK_DAYS - 1))
    resp = app.test_client().get(f"/status/link/{old}")
    assert is_lookup_page(resp, 410) and "已经失效" in resp.get_data(as_text=True)
    assert app.test_client().get(f"/status/link/{fresh}").status_code == 200


def test_failed_tries_count_against_the_status_limit_and_good_links_do_not(
        tmp_path: Path) -> None:
    app = make_app(tmp_path, TODAY=lambda: TODAY, PUBLIC_BASE_URL=BASE, RATELIMIT_ENABLED=True,
                   STATUS_RATE_LIMIT="3 per minute")
    ref = new_request(app, "second_opinion", request_date=TODAY)
    [link] = links_sent(app, ref)
    client = app.test_client()
    assert all(client.get(link).status_code == 200 for _ in range(6))
    codes = [client.get(f"/status/link/guess{i}").status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]


def test_the_token_is_never_logged(console, caplog: pytest.LogCaptureFixture) -> None:
    app, staff = console
    caplog.set_level(logging.DEBUG)
    # as an operator chasing a problem would: every SQL statement logged
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    ref = new_request(app, "second_opinion", request_date=TODAY)
    phone = app.test_client()
    [link] = links_sent(app, ref)
    assert phone.get(link).status_code == 200
    assert phone.post(f"/status/{ref}/links").status_code == 303
    assert phone.get(f"/status/{ref}").status_code == 200
    assert post_event(staff, ref, "identity_confirmed", TODAY).status_code == 303
    assert staff.post(f"/staff/requests/{ref}/links/revoke").status_code == 303
    assert phone.get(link).status_code == 410
    tokens = [address.removeprefix("/status/link/") for address in links_sent(app, ref)]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "status_link" in logged  # the statements that read and wrote them were logged
    for token in tokens:
        assert token not in logged
