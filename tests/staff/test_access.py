"""Sign-in: every /staff rule refused without it (walking app.url_map), expiring sessions,
password changes, the create-staff command, CSRF and safe redirects."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forms_app.storage import get_db
from forms_app.storage.models import AuditLog, RequestDocument, RequestEvent, StaffUser
from tests.support.staff import PASSWORD, STAFF, make_app, new_request, sign_in

PUBLIC = {"staff.login", "staff.static"}


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context(), get_db().read_session() as s:
        return (s.scalar(select(func.count()).select_from(RequestEvent)),
                s.scalar(select(func.count()).select_from(AuditLog)))


def test_every_staff_rule_refused_without_sign_in(app: Flask,
                                                  make_request: Callable[..., str]) -> None:
    ref = make_request("green_channel", request_date=dt.date(2026, 3, 2))
    with app.app_context(), get_db().read_session() as s:
        doc_id = s.scalar(select(RequestDocument.id))
    values = {"reference": ref, "document_id": doc_id, "event_id": "identity_confirmed",
              "service_id": "second_opinion", "event_row": 1, "user_id": 1,
              "filename": "staff.css"}
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff")]
    protected = [r for r in rules if r.endpoint not in PUBLIC]
    assert {r.endpoint for r in rules} >= PUBLIC | {
        "staff.queue", "staff.request_page", "staff.add_event", "staff.reveal",
        "staff.download", "staff.reports", "staff.promises_csv", "staff.logout"}
    before = _counts(app)
    client = app.test_client()
    tried = 0
    for rule in protected:
        url = rule.build({k: values[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method,
                                   data={"identity_confirmed-event_date": "2026-03-02",
                                         "field": "id_number"})
            tried += 1
            assert response.status_code in (302, 401, 403), (method, url)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/staff/login"), url
            assert ref not in response.get_data(as_text=True) or response.status_code == 302
            assert b"%PDF" not in response.data
    assert tried >= 8
    assert _counts(app) == before   # nothing recorded, nothing revealed
    # the sign-in page and the stylesheet are public
    assert client.get("/staff/login").status_code == 200
    assert client.get("/staff/static/staff.css").status_code == 200


def test_sign_in_and_out(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/staff/").headers["Location"].startswith("/staff/login")
    response = sign_in(client, password="wrong password!")
    assert response.status_code == 401 and "用户名或密码不正确" in response.text
    response = sign_in(client, username="nobody")
    assert response.status_code == 401
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_next_stays_inside_the_console(app: Flask) -> None:
    for target, expected in [("/staff/reports", "/staff/reports"),
                             ("//evil.example/staff/", "/staff/"),
                             ("https://evil.example/staff/", "/staff/"),
                             ("/apply/", "/staff/")]:
        client = app.test_client()
        response = client.post("/staff/login", query_string={"next": target},
                               data={"username": STAFF, "password": PASSWORD})
        assert response.headers["Location"] == expected, target


def test_session_expires_after_the_lifetime(app: Flask, staff: FlaskClient) -> None:
    assert staff.get("/staff/").status_code == 200
    with staff.session_transaction() as session:
        session["staff_login_at"] = time.time() - app.config["STAFF_SESSION_LIFETIME"] - 1
    response = staff.get("/staff/reports")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    # signed out for good: the next page asks again
    assert staff.get("/staff/").status_code == 302
    assert sign_in(staff).status_code == 302
    assert staff.get("/staff/").status_code == 200
    assert app.config["STAFF_SESSION_LIFETIME"] == 8 * 3600


def test_password_reset_ends_existing_sessions(app: Flask, staff: FlaskClient) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-staff", STAFF, "--reset"],
                           env={"STAFF_PASSWORD": "another long password"})
    assert result.exit_code == 0, result.output
    assert staff.get("/staff/").status_code == 302
    assert sign_in(staff, password="another long password").status_code == 302


def test_create_staff_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-staff", "li.lei"], env={"STAFF_PASSWORD": "short"})
    assert result.exit_code != 0 and "at least 12" in result.output
    result = runner.invoke(args=["create-staff", STAFF], env={"STAFF_PASSWORD": PASSWORD})
    assert result.exit_code != 0 and "exists" in result.output
    # prompted (typed twice) when STAFF_PASSWORD is not set
    result = runner.invoke(args=["create-staff", "li.lei"],
                           input="a fine long password\na fine long password\n",
                           env={"STAFF_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    with app.app_context(), get_db().read_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == "li.lei"))
        assert user is not None
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert "a fine long password" not in user.password_hash
    assert sign_in(app.test_client(), "li.lei", "a fine long password").status_code == 302


def test_a_production_app_stores_scrypt_hashes(tmp_path: Path) -> None:
    """Tests hash with cheap PBKDF2 (TestConfig); the product's own setting is scrypt, and an
    account made with it signs in."""
    from forms_app.config import Config

    assert Config.from_env(tmp_path, env={})["PASSWORD_HASH_METHOD"] == "scrypt"
    app = make_app(tmp_path, PASSWORD_HASH_METHOD="scrypt")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-staff", "li.lei"],
                         env={"STAFF_PASSWORD": PASSWORD}).exit_code == 0
    with app.app_context(), get_db().read_session() as s:
        stored = s.scalar(select(StaffUser.password_hash).where(StaffUser.username == "li.lei"))
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    assert sign_in(app.test_client(), "li.lei", PASSWORD).status_code == 302


def test_an_unknown_name_costs_the_same_hash_as_a_real_account(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sign-in with a name no account has still checks the password, against a hash made with
    the app's PASSWORD_HASH_METHOD (the work a real account's wrong password costs)."""
    from forms_app.storage import staff as staff_storage

    checked: list[str] = []
    real_check = staff_storage.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(staff_storage, "check_password_hash", spy)
    for method in ("scrypt:16384:8:1", "pbkdf2:sha256:1000"):
        app = make_app(tmp_path / method.replace(":", "-"), PASSWORD_HASH_METHOD=method)
        assert sign_in(app.test_client(), "no.such.person", PASSWORD).status_code == 401
        assert checked.pop().startswith(method + "$")
    assert not checked


def test_csrf_is_required_when_enabled(tmp_path: Path) -> None:
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-staff", STAFF],
                         env={"STAFF_PASSWORD": PASSWORD}).exit_code == 0
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code != 302          # no token: not signed in
    assert client.get("/staff/").status_code == 302
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    # with the token from the page, sign-in works
    from bs4 import BeautifulSoup

    token = BeautifulSoup(client.get("/staff/login").text, "html.parser") \
        .select_one("input[name=csrf_token]")["value"]
    response = client.post("/staff/login", data={"username": STAFF, "password": PASSWORD,
                                                  "csrf_token": token})
    assert response.status_code == 302
    # a staff POST without its token changes nothing
    response = client.post(f"/staff/requests/{ref}/events/identity_confirmed",
                           data={"identity_confirmed-event_date": "2026-03-02"})
    assert response.status_code in (400, 422)
    with app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(func.count()).select_from(RequestEvent)
                        .where(RequestEvent.event_id == "identity_confirmed")) == 0
