"""The second hostile review's findings, each as a test that failed before its fix: text fields
sent as file parts, control characters, sessions that outlive sign-out, consent for any value,
personal data in logs and URLs, weak passwords and per-address sign-in limits, the "once per
policy year" race, faults that were 500s, and the smaller ones."""

from __future__ import annotations

import errno
import io
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from forms_app.storage import files as files_module
from forms_app.storage.models import ServiceRequest
from forms_app.storage.requests import AlreadyUsed, create_request
from tests.support.forms import VALID_ID, hidden, make_id, post_form, valid_data
from tests.support.staff import PASSWORD, STAFF, add_staff, new_request, sign_in
from tests.support.storage import new_request as stored_request
from tests.support.storage import parts

SERVICES = ["green_channel", "second_opinion", "genetic_testing", "direct_billing"]
TEXT_FIELDS = ["id_number", "phone", "applicant_phone", "policy_number", "insured_name",
               "applicant_name", "submission_token"]


def tokens(client, path: str) -> dict[str, str]:
    html = client.get(path).get_data(as_text=True)
    found = {"csrf_token": hidden(html, "csrf_token")}
    if 'name="submission_token"' in html:
        found["submission_token"] = hidden(html, "submission_token")
    return found


def count_requests(app: Flask) -> int:
    with app.extensions["forms_db"].read_session() as s:
        return s.scalar(select(func.count()).select_from(ServiceRequest))


# -- 2. a text field sent as a file part --------------------------------------------------------
@pytest.mark.parametrize("service_id", SERVICES)
@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_a_text_field_sent_as_a_file_is_a_4xx(make_app, rules, service_id: str,
                                              name: str) -> None:
    app = make_app()
    client = app.test_client()
    data = valid_data(rules, service_id)
    data["applicant_relation"] = "配偶"
    data["applicant_name"], data["applicant_phone"] = "李四", "13912345678"
    data[name] = (io.BytesIO(b"13800138000"), "field.txt")
    form_tokens = tokens(client, f"/apply/{service_id}")
    if name == "submission_token":
        form_tokens.pop("submission_token")
    resp = post_form(client, service_id, form_tokens, data)
    assert 400 <= resp.status_code < 500 or resp.status_code == 303, resp.status_code
    if name != "submission_token":  # without a token the form issues a new one and goes on
        assert resp.status_code == 422
        assert count_requests(app) == 0


@pytest.mark.parametrize("name", ["reference", "last4", "csrf_token"])
def test_status_and_sign_in_text_fields_as_files(make_app, name: str) -> None:
    app = make_app()
    add_staff(app)
    client = app.test_client()
    data: dict[str, Any] = {**tokens(client, "/status/"), "reference": "ABCD2345",
                            "last4": "002X"}
    data[name] = (io.BytesIO(b"ABCD2345"), "x.txt")
    assert 400 <= client.post("/status/", data=data,
                              content_type="multipart/form-data").status_code < 500
    login = {**tokens(client, "/staff/login"), "username": STAFF, "password": PASSWORD}
    login["username" if name != "csrf_token" else "csrf_token"] = (io.BytesIO(b"x"), "x.txt")
    assert 400 <= client.post("/staff/login", data=login,
                              content_type="multipart/form-data").status_code < 500


# -- 3. control characters ----------------------------------------------------------------------
def test_nul_bytes_are_refused_before_any_database(any_app, rules) -> None:
    add_staff(any_app)
    client = any_app.test_client()
    data = valid_data(rules, "second_opinion")
    form_tokens = tokens(client, "/apply/second_opinion")
    form_tokens["submission_token"] = "tok\x00en"
    resp = post_form(client, "second_opinion", form_tokens, data)
    assert resp.status_code == 303  # the broken token was replaced by a fresh one
    assert count_requests(any_app) == 1
    login = {**tokens(client, "/staff/login"), "username": "wang\x00fang", "password": "x"}
    assert client.post("/staff/login", data=login).status_code == 422
    assert client.get("/staff/requests/AB%00CD2345").status_code == 400
    assert client.get("/apply/second%00opinion").status_code == 400
    assert client.get("/staff/", query_string={"service": "a\x00b"}).status_code == 400

    staff = any_app.test_client()
    signed_in = staff.post("/staff/login", data={**tokens(staff, "/staff/login"),
                                                 "username": STAFF, "password": PASSWORD})
    assert signed_in.status_code == 302
    search = staff.post("/staff/search", data={**tokens(staff, "/staff/"),
                                               "reference": "ABCD\x002345"})
    assert search.status_code in (303, 422)  # no request found, no database error
    reference = new_request(any_app, "second_opinion", request_date=rules_today(any_app))
    csrf = hidden(staff.get(f"/staff/requests/{reference}").get_data(as_text=True),
                  "csrf_token")
    resp = staff.post(f"/staff/requests/{reference}/events/lapsed", data={
        "csrf_token": csrf, "lapsed-event_date": rules_today(any_app).isoformat(),
        "lapsed-reason": "原因\x00", "lapsed-csrf_token": csrf})
    assert resp.status_code == 422
    assert "无法显示的字符" in resp.get_data(as_text=True)


def rules_today(app: Flask) -> Any:
    from service_rules.deadlines import shanghai_today

    return shanghai_today()


# -- 4. signing out ends the session everywhere -------------------------------------------------
def test_a_cookie_copied_before_sign_out_no_longer_works(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False)
    add_staff(app)
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/staff/").status_code == 200
    assert browser.post("/staff/logout").status_code == 302
    assert thief.get("/staff/").status_code == 302  # back to sign-in
    assert thief.get("/staff/reports/promises.csv").status_code == 302


# -- 5. consent means yes only for the exact value -----------------------------------------------
@pytest.mark.parametrize("value", ["0", "no", "off", "False", "false", " ", "", "yes", "Y",
                                   "y ", "1"])
def test_consent_is_not_given_by_any_other_value(make_app, rules, value: str) -> None:
    app = make_app()
    client = app.test_client()
    data = valid_data(rules, "second_opinion")
    data["consent"] = value
    resp = post_form(client, "second_opinion", tokens(client, "/apply/second_opinion"), data)
    assert resp.status_code == 422
    assert "需要您单独同意处理敏感个人信息" in resp.get_data(as_text=True)
    assert count_requests(app) == 0


def test_consent_as_a_file_part_or_twice_is_not_given(make_app, rules) -> None:
    app = make_app()
    client = app.test_client()
    for consent in [(io.BytesIO(b"y"), "consent.txt"), ["y", "y"]]:
        data = valid_data(rules, "second_opinion")
        data["consent"] = consent
        body = {**tokens(client, "/apply/second_opinion"), **data}
        if isinstance(consent, list):
            body["consent"] = consent
        resp = client.post("/apply/second_opinion", data=body,
                           content_type="multipart/form-data")
        assert resp.status_code == 422
    assert count_requests(app) == 0


# -- 6. no personal data in any log or URL ------------------------------------------------------
def test_debug_on_every_logger_logs_no_personal_data(make_app, rules, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.orm",
                 "sqlalchemy.pool", "werkzeug", "forms_app", "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)
    app = make_app(WTF_CSRF_ENABLED=False)
    add_staff(app)
    client = app.test_client()
    data = valid_data(rules, "second_opinion")
    data["insured_name"] = "欧阳秘密"
    data["policy_number"] = "SECRET-7788"
    resp = post_form(client, "second_opinion", tokens(client, "/apply/second_opinion"), data)
    assert resp.status_code == 303
    reference = resp.headers["Location"].rsplit("/", 1)[-1]
    staff = app.test_client()
    sign_in(staff)
    staff.get(f"/staff/requests/{reference}")
    staff.get("/staff/")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SELECT" in logged  # SQL logging really was on
    for secret in ("欧阳秘密", "SECRET-7788", VALID_ID, "13800138000"):
        assert secret not in logged


def test_staff_search_keeps_what_was_typed_out_of_the_url(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False)
    add_staff(app)
    staff = app.test_client()
    sign_in(staff)
    resp = staff.post("/staff/search", data={"reference": VALID_ID})
    assert resp.status_code == 303
    assert VALID_ID not in resp.headers["Location"]
    page = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert VALID_ID not in page
    assert 'method="post"' in page and 'action="/staff/search"' in page


# -- 7. passwords and sign-in -------------------------------------------------------------------
@pytest.mark.parametrize("password", [" " * 12, "a" * 12, "password1234", "123456789012",
                                      "wang.fang2026", "qwertyuiop12"])
def test_weak_staff_passwords_are_refused(make_app, password: str) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["create-staff", "wang.fang"],
                                          env={"STAFF_PASSWORD": password})
    assert result.exit_code != 0
    assert "password" in result.output


def test_failed_sign_ins_count_per_account_across_workers(make_app, tmp_path: Path) -> None:
    """Two apps (two workers) sharing Redis: failures for one account add up, that account
    must wait, and a colleague behind the same address still signs in."""
    shared = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
              "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", "RATELIMIT_ENABLED": True,
              "WTF_CSRF_ENABLED": False, "STAFF_ACCOUNT_LOCKOUT": "5 per 15 minutes"}
    first, second = make_app(**shared), make_app(**shared)
    add_staff(first)
    add_staff(first, username="li.na", password="another long passphrase 42")
    for i in range(5):
        worker = (first, second)[i % 2].test_client()
        assert sign_in(worker, password="wrong guess").status_code == 401
    for app in (first, second):
        locked = sign_in(app.test_client())  # even the right password must wait now
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    colleague = sign_in(second.test_client(), username="li.na",
                        password="another long passphrase 42")
    assert colleague.status_code == 302


def test_successful_sign_ins_do_not_use_up_the_address_limit(make_app) -> None:
    app = make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False,
                   STAFF_LOGIN_RATE_LIMIT="3 per minute")
    add_staff(app)
    for _ in range(6):
        assert sign_in(app.test_client()).status_code == 302


# -- 8. once per policy year, in the database ---------------------------------------------------
def test_simultaneous_submissions_for_one_insured_make_one_request(any_app, rules) -> None:
    db, crypto, upload_dir = parts(any_app)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def submit(i: int) -> None:
        new = stored_request(rules, token=f"race-{i}")
        new.use_limit = 1
        barrier.wait()
        try:
            create_request(db, crypto, upload_dir, new)
            outcomes.append("created")
        except AlreadyUsed:
            outcomes.append("used")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["used"] * 7
    assert count_requests(any_app) == 1
    assert len(list(upload_dir.iterdir())) == 1  # the refused ones' files are gone


# -- 9. faults are 503s with the app's Retry-After ----------------------------------------------
def test_a_full_upload_disk_is_a_503_with_retry_after(make_app, rules, monkeypatch) -> None:
    app = make_app()
    client = app.test_client()

    def full(*_a: Any, **_k: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files_module.os, "open", full)
    data = valid_data(rules, "second_opinion")
    resp = post_form(client, "second_opinion", tokens(client, "/apply/second_opinion"), data)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "10"
    assert "系统繁忙" in resp.get_data(as_text=True)
    assert count_requests(app) == 0


@pytest.mark.postgres
def test_a_read_only_postgres_is_a_503(make_app, rules, pg_scratch_url: str) -> None:
    app = make_app(DATABASE_URL=pg_scratch_url)
    admin = create_engine(pg_scratch_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = conn.scalar(text("SELECT current_database()"))
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    app.extensions["forms_db"].engine.dispose()  # new connections are read-only
    client = app.test_client()
    data = valid_data(rules, "second_opinion")
    resp = post_form(client, "second_opinion", tokens(client, "/apply/second_opinion"), data)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "10"


def test_limited_views_carry_no_limiter_headers_and_429_has_its_own(make_app) -> None:
    app = make_app(RATELIMIT_ENABLED=True, STATUS_RATE_LIMIT="2 per minute")
    client = app.test_client()
    answers = [client.post("/status/", data={**tokens(client, "/status/"),
                                             "reference": "ABCD2345", "last4": "002X"})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert "Retry-After" not in answers[0].headers
    assert not any(h.startswith("X-RateLimit") for h in answers[0].headers.keys())
    assert 0 < int(answers[2].headers["Retry-After"]) <= 61


# -- 10. smaller ones ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["/staff/%0d%0aSet-Cookie:x=y", "/staff/\r\nX: y",
                                    "/staff/requests/AB\nCD"])
def test_line_breaks_in_next_are_ignored_after_sign_in(make_app, target: str) -> None:
    app = make_app(WTF_CSRF_ENABLED=False)
    add_staff(app)
    client = app.test_client()
    resp = client.post("/staff/login", query_string={"next": target},
                       data={"username": STAFF, "password": PASSWORD})
    # refused at the edge (control characters in the query), or signed in to a safe page
    assert resp.status_code in (302, 400)
    location = resp.headers.get("Location", "")
    assert "\n" not in location and "\r" not in location


def test_a_form_token_opens_only_its_own_browsers_request(make_app, rules) -> None:
    """A token copied into another browser, or onto another service's form, is not a key to
    the request it was submitted with: that browser gets a request of its own (or a refusal),
    never the other one's confirmation."""
    app = make_app()
    first = app.test_client()
    page = first.get("/apply/second_opinion").get_data(as_text=True)
    mine = {"csrf_token": hidden(page, "csrf_token"),
            "submission_token": hidden(page, "submission_token")}
    done = post_form(first, "second_opinion", mine, valid_data(rules, "second_opinion"))
    assert done.status_code == 303
    again = post_form(first, "second_opinion", mine, valid_data(rules, "second_opinion"))
    assert again.headers["Location"] == done.headers["Location"]  # a double submit: same one

    stranger = app.test_client()
    other_page = stranger.get("/apply/genetic_testing").get_data(as_text=True)
    copied = {"csrf_token": hidden(other_page, "csrf_token"),
              "submission_token": mine["submission_token"]}
    data = valid_data(rules, "genetic_testing")
    data["insured_name"], data["id_number"] = "李四", make_id("11010519800101001")
    resp = post_form(stranger, "genetic_testing", copied, data)
    assert resp.status_code == 303 and resp.headers["Location"] != done.headers["Location"]
    assert count_requests(app) == 2
