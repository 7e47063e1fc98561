"""Supervisors manage staff accounts in the console (issue 5): list, create with a checked
password, deactivate and reactivate, reset a password; a reset or deactivation ends that
account's sessions everywhere; every change audited; other staff get a calm 403. On SQLite and
PostgreSQL (`any_app`)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.storage import get_db
from forms_app.storage.models import AuditLog, StaffUser
from tests.support.staff import PASSWORD, STAFF, Clock, add_staff, sign_in, soup

BOSS = "li.zhuguan"
NEW_PASSWORD = "river lantern copper 42"


@pytest.fixture
def office(any_app: Flask, clock: Clock) -> tuple[Flask, FlaskClient, FlaskClient]:
    """An ordinary account and a supervisor, each signed in."""
    any_app.config.update(WTF_CSRF_ENABLED=False, TODAY=clock)
    add_staff(any_app)
    result = any_app.test_cli_runner().invoke(args=["create-staff", BOSS, "--supervisor"],
                                              env={"STAFF_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    staff, boss = any_app.test_client(), any_app.test_client()
    assert sign_in(staff).status_code == 302
    assert sign_in(boss, BOSS).status_code == 302
    return any_app, staff, boss


def user(app: Flask, username: str) -> StaffUser | None:
    with app.app_context(), get_db().read_session() as s:
        return s.scalar(select(StaffUser).where(StaffUser.username == username))


def actions(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context(), get_db().read_session() as s:
        return [(a.actor, a.action, a.details.get("username", ""))
                for a in s.scalars(select(AuditLog).where(AuditLog.request_id.is_(None))
                                   .order_by(AuditLog.id))
                if a.action.startswith("staff_") and a.action != "staff_signed_in"]


def errors_at(html: str, field_id: str) -> list[str]:
    block = soup(html).find(id=field_id).find_parent(class_="app-field")
    return [p.get_text(strip=True) for p in block.select(".app-error")]


def still_signed_in(client: FlaskClient) -> bool:
    response = client.get("/staff/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_only_supervisors_reach_account_management(
        office: tuple[Flask, FlaskClient, FlaskClient]) -> None:
    app, staff, boss = office
    refused = staff.get("/staff/accounts")
    assert refused.status_code == 403 and "只有主管账号" in refused.text
    target = user(app, BOSS).id
    for path, data in [("/staff/accounts", {"username": "zhao.liu", "password": NEW_PASSWORD}),
                       (f"/staff/accounts/{target}/active", {}),
                       (f"/staff/accounts/{target}/password",
                        {f"reset-{target}-password": NEW_PASSWORD})]:
        response = staff.post(path, data=data)
        assert response.status_code == 403 and "只有主管账号" in response.text, path
    assert user(app, "zhao.liu") is None and user(app, BOSS).active
    assert sign_in(app.test_client(), BOSS).status_code == 302  # password unchanged
    listed = soup(boss.get("/staff/accounts").text)
    assert {r["data-user"]: r["data-supervisor"] for r in listed.select("#accounts tbody tr")} \
        == {STAFF: "no", BOSS: "yes"}


@pytest.mark.parametrize(("username", "password", "field", "message"), [
    ("", NEW_PASSWORD, "username", "请填写用户名。"),
    ("王 芳", NEW_PASSWORD, "username",
     "用户名请用 2 到 64 个英文字母、数字、点、下划线或连字符，例如 wang.fang。"),
    ("zhao.liu", "", "password", "请填写初始密码。"),
    ("zhao.liu", "short pass", "password", "密码至少需要 12 个字符。"),
    ("zhao.liu", "password1234", "password", "这个密码是最常被猜到的密码之一，请换一个。"),
    ("zhao.liu", "zhao.liu-2026-x", "password", "密码里不能包含用户名。"),
    ("zhao.liu", "aaaaaaaaaaaaaaaa", "password",
     "这个密码太容易被猜到，请用一句更长、不常见的话作密码。"),
    (STAFF, NEW_PASSWORD, "username", "这个用户名已经有人使用，请换一个。"),
])
def test_a_bad_new_account_gets_its_message_at_the_field(
        office: tuple[Flask, FlaskClient, FlaskClient], username: str, password: str,
        field: str, message: str) -> None:
    app, _staff, boss = office
    response = boss.post("/staff/accounts", data={"username": username, "password": password})
    assert response.status_code in (409, 422)
    assert errors_at(response.text, field) == [message]
    form = soup(response.text)
    assert (form.find(id="username").get("value") or "") == username  # what was typed stays
    assert not form.find(id="password").get("value")  # never sent back
    assert user(app, "zhao.liu") is None
    assert [a for a in actions(app) if a[0] == BOSS] == []


def test_a_supervisor_creates_an_account_that_can_sign_in(
        office: tuple[Flask, FlaskClient, FlaskClient]) -> None:
    app, _staff, boss = office
    response = boss.post("/staff/accounts", data={"username": "zhao.liu",
                                                  "password": NEW_PASSWORD, "supervisor": "y"})
    assert response.status_code == 303
    created = user(app, "zhao.liu")
    assert created.active and created.supervisor and NEW_PASSWORD not in created.password_hash
    assert sign_in(app.test_client(), "zhao.liu", NEW_PASSWORD).status_code == 302
    assert (BOSS, "staff_created", "zhao.liu") in actions(app)


def test_a_password_reset_ends_the_accounts_existing_sessions(
        office: tuple[Flask, FlaskClient, FlaskClient]) -> None:
    app, staff, boss = office
    other_device = app.test_client()
    assert sign_in(other_device).status_code == 302
    assert still_signed_in(staff) and still_signed_in(other_device)
    target = user(app, STAFF).id
    weak = boss.post(f"/staff/accounts/{target}/password",
                     data={f"reset-{target}-password": "short"})
    assert weak.status_code == 422
    assert errors_at(weak.text, f"reset-{target}-password") == ["密码至少需要 12 个字符。"]
    assert still_signed_in(staff)
    done = boss.post(f"/staff/accounts/{target}/password",
                     data={f"reset-{target}-password": NEW_PASSWORD})
    assert done.status_code == 303
    # the cookies from before no longer open anything
    assert not still_signed_in(staff) and not still_signed_in(other_device)
    assert sign_in(app.test_client(), STAFF, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), STAFF, NEW_PASSWORD).status_code == 302
    assert still_signed_in(boss)
    assert (BOSS, "staff_password_reset", STAFF) in actions(app)


def test_deactivating_ends_sessions_and_reactivating_lets_the_account_back_in(
        office: tuple[Flask, FlaskClient, FlaskClient]) -> None:
    app, staff, boss = office
    target = user(app, STAFF).id
    assert boss.post(f"/staff/accounts/{target}/active").status_code == 303
    assert not user(app, STAFF).active
    assert not still_signed_in(staff)
    assert sign_in(app.test_client()).status_code == 401
    row = soup(boss.get("/staff/accounts").text).select_one(f"#accounts tr[data-user='{STAFF}']")
    assert row["data-active"] == "no"
    assert boss.post(f"/staff/accounts/{target}/active").status_code == 303
    assert sign_in(app.test_client()).status_code == 302
    # a supervisor cannot lock themselves out
    me = user(app, BOSS).id
    assert boss.post(f"/staff/accounts/{me}/active").status_code == 303
    assert user(app, BOSS).active and still_signed_in(boss)
    assert [a[1] for a in actions(app) if a[0] == BOSS] == \
        ["staff_deactivated", "staff_reactivated"]
    log = soup(boss.get("/staff/accounts").text)
    assert [r["data-action"] for r in log.select("#account-log tbody tr")][:2] == \
        ["staff_reactivated", "staff_deactivated"]


def test_an_expired_page_keeps_the_username_and_changes_nothing(
        office: tuple[Flask, FlaskClient, FlaskClient]) -> None:
    app, staff, boss = office
    app.config["WTF_CSRF_ENABLED"] = True
    response = boss.post("/staff/accounts", data={"username": "zhao.liu",
                                                  "password": NEW_PASSWORD,
                                                  "csrf_token": "from-a-page-left-open"})
    assert response.status_code == 400
    assert errors_at(response.text, "username") == [
        "页面停留时间较长，为了安全请再提交一次；您填写的内容还在。"]
    assert soup(response.text).find(id="username")["value"] == "zhao.liu"
    target = user(app, STAFF).id
    reset = boss.post(f"/staff/accounts/{target}/password",
                      data={f"reset-{target}-password": NEW_PASSWORD, "csrf_token": "old"})
    assert reset.status_code == 400
    assert user(app, "zhao.liu") is None and still_signed_in(staff)
