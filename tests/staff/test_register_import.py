"""The policy register end to end, on SQLite and PostgreSQL: a supervisor imports the roster in
the console (others may not) or by command; online requests are then checked against it
(verified, 待核实, refused calmly when so set), the waiting period from the first effective date
survives a renewal, the typed date no longer buys a second "once per year" use, hotline and
online requests are counted together, and staff see on each request how it was checked."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.content import get_rules
from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import ServiceRequest
from forms_app.storage.requests import NewRequest, create_request
from service_rules.deadlines import shanghai_today
from service_rules.promises import snapshot_service
from tests.support.forms import hidden, make_id, valid_data
from tests.support.roster import import_file, record, write_csv, write_xlsx
from tests.support.staff import PASSWORD, get_db_of, make_app, sign_in, soup

TODAY = shanghai_today()
ID = "11010519491231002X"  # valid_data's insured, 张三
FIRST = TODAY - dt.timedelta(days=800)          # first effective: two renewals ago
START = TODAY - dt.timedelta(days=30)           # the current period began a month ago
END = START + dt.timedelta(days=364)


def roster_rows(**over: Any) -> list[list[Any]]:
    args = {"policy": "P2025-0001", "first": FIRST, "start": START, "end": END}
    args.update(over)
    return [record(**args)]


def _add(app: Flask, username: str, *flags: str) -> None:
    result = app.test_cli_runner().invoke(args=["create-staff", username, *flags],
                                          env={"STAFF_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def reg_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    app = make_app(tmp_path, url)
    _add(app, "chief", "--supervisor")
    _add(app, "wang.fang")
    yield app
    get_db_of(app).dispose()


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def apply(app: Flask, service_id: str = "green_channel", use: str | None = None,
          **overrides: Any) -> Any:
    client = app.test_client()
    page = client.get(f"/apply/{service_id}").get_data(as_text=True)
    with app.app_context():
        data = valid_data(get_rules(), service_id, use)
    data.update(overrides)
    data["submission_token"] = hidden(page, "submission_token")
    data["csrf_token"] = hidden(page, "csrf_token")
    return client.post(f"/apply/{service_id}", data=data, content_type="multipart/form-data")


def stored(app: Flask) -> list[ServiceRequest]:
    with app.app_context(), get_db().read_session() as s:
        return list(s.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))


# -- importing ------------------------------------------------------------------------------
def test_only_a_supervisor_imports_in_the_console(reg_app: Flask, tmp_path: Path) -> None:
    plain = signed_in(reg_app, "wang.fang")
    page = soup(plain.get("/staff/register").text)
    assert page.select_one("#not-supervisor") and not page.select("input[type=file]")
    path = write_xlsx(tmp_path / "名册.xlsx", roster_rows())
    refused = plain.post("/staff/register", data={"roster": (io.BytesIO(path.read_bytes()),
                                                              "名册.xlsx")},
                         content_type="multipart/form-data")
    assert refused.status_code == 403

    chief = signed_in(reg_app, "chief")
    done = chief.post("/staff/register", data={"roster": (io.BytesIO(path.read_bytes()),
                                                           "名册.xlsx")},
                      content_type="multipart/form-data")
    assert done.status_code == 200
    report = soup(done.text).select_one("#import-report")
    assert report["data-outcome"] == "applied" and report["data-added"] == "1"
    history = soup(done.text).select("#import-history tr[data-import]")
    assert len(history) == 1 and "chief" in history[0].text and "名册.xlsx" in history[0].text


def test_console_lists_refused_lines_and_a_refused_file(reg_app: Flask, tmp_path: Path) -> None:
    chief = signed_in(reg_app, "chief")
    rows = roster_rows() + [record(policy="P2", id_number="123", first=FIRST, start=START,
                                   end=END)]
    body = write_csv(tmp_path / "r.csv", rows).read_bytes()
    resp = chief.post("/staff/register", data={"roster": (io.BytesIO(body), "r.csv")},
                      content_type="multipart/form-data")
    doc = soup(resp.text)
    assert doc.select_one("#import-report")["data-refused"] == "1"
    line = doc.select_one("#refused-rows tr[data-line]")
    assert line["data-line"] == "3" and "18位" in line.text and "123" not in line.text
    bad = chief.post("/staff/register", data={"roster": (io.BytesIO(b"just,text\n1,2\n"),
                                                          "x.csv")},
                     content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "没有导入" in bad.text and "找不到“保单号”这一列" in bad.text


def test_import_roster_command(reg_app: Flask, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "roster.csv", roster_rows())
    runner = reg_app.test_cli_runner()
    result = runner.invoke(args=["import-roster", str(path), "--by", "chief"])
    assert result.exit_code == 0, result.output
    assert "新增 1 行" in result.output and ID not in result.output
    again = runner.invoke(args=["import-roster", str(path)])
    assert "新增 0 行，更改 0 行，未变 1 行" in again.output
    bad = runner.invoke(args=["import-roster", str(write_csv(tmp_path / "b.csv", [],
                                                             header=["保单号"]))])
    assert bad.exit_code == 1 and "名册没有任何改变" in bad.output


# -- eligibility against the register ---------------------------------------------------------
def test_without_a_register_requests_are_unverified(reg_app: Flask) -> None:
    assert apply(reg_app).status_code == 303
    req = stored(reg_app)[0]
    assert (req.register_status, req.register_import_id) == ("unverified", None)
    page = soup(signed_in(reg_app, "wang.fang").get(f"/staff/requests/{req.reference}").text)
    assert page.select_one("#register")["data-register"] == "unverified"
    assert "未核实" in page.select_one("#register").text


def test_verified_request_rests_on_the_record_and_a_renewal_keeps_the_first_date(
        reg_app: Flask, tmp_path: Path) -> None:
    report = import_file(reg_app, write_csv(tmp_path / "r.csv", roster_rows()), today=TODAY)
    # diagnosed 20 days ago, typed the renewal date as effective: without the register this
    # is "in the waiting period"
    typed = {"policy_effective": START.isoformat(), "policy_number": "P20250001"}
    resp = apply(reg_app, **typed)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    req = stored(reg_app)[0]
    assert (req.register_status, req.register_import_id) == ("verified", report.import_id)
    assert (req.policy_number, req.policy_effective, req.policy_year_start) == \
        ("P2025-0001", FIRST, START)
    page = soup(signed_in(reg_app, "wang.fang").get(f"/staff/requests/{req.reference}").text)
    shown = page.select_one("#register")
    assert shown["data-register"] == "verified" and shown["data-import"] == \
        str(report.import_id) and "已核实" in shown.text and report.file_sha256[:12] in shown.text


def test_a_typed_date_no_longer_buys_a_second_use(reg_app: Flask, tmp_path: Path) -> None:
    import_file(reg_app, write_csv(tmp_path / "r.csv", roster_rows()), today=TODAY)
    assert apply(reg_app, "green_channel", "outpatient").status_code == 303
    one_day_later = (FIRST + dt.timedelta(days=1)).isoformat()
    again = apply(reg_app, "green_channel", "outpatient", policy_effective=one_day_later)
    assert again.status_code == 422 and "已经使用过" in again.get_data(as_text=True)
    # direct billing has no limit: every hospital stay may use it
    assert apply(reg_app, "direct_billing").status_code == 303
    assert apply(reg_app, "direct_billing").status_code == 303


def test_hotline_and_online_requests_are_counted_together(reg_app: Flask,
                                                          tmp_path: Path) -> None:
    import_file(reg_app, write_csv(tmp_path / "r.csv", roster_rows()), today=TODAY)
    with reg_app.app_context():  # a request staff took on the phone: the same write path
        content = get_rules().content
        hotline = NewRequest(
            service_id="second_opinion", use_id="second_opinion", insured_name="张三",
            id_number=ID, phone="13800138000", applicant_relation="本人", applicant_name=None,
            applicant_phone=None, policy_number="P2025-0001", policy_effective=FIRST,
            diagnosis_date=TODAY - dt.timedelta(days=20), first_diagnosis=True, city_id=None,
            hospital_id=None, details={"channel": "hotline"},
            consent_text=content.product.sensitive_consent,
            submission_token=secrets.token_hex(16), content_version=content.version,
            service_snapshot=snapshot_service(content, "second_opinion"),
            request_date=TODAY - dt.timedelta(days=3), use_limit=1,
            # the hotline clerk typed a date of their own: the period still counts
            policy_year_start=START + dt.timedelta(days=2))
        create_request(get_db(), get_crypto(), Path(reg_app.config["UPLOAD_DIR"]), hotline)
    online = apply(reg_app, "second_opinion")
    assert online.status_code == 422 and "第二诊疗意见已经使用过" in online.get_data(as_text=True)


def test_lapsed_and_not_found_reach_staff_marked_pending(reg_app: Flask, tmp_path: Path) -> None:
    import_file(reg_app, write_csv(tmp_path / "r.csv", roster_rows(status="失效")), today=TODAY)
    lapsed = apply(reg_app)
    assert lapsed.status_code == 303
    req = stored(reg_app)[0]
    assert req.register_status == "pending" and "已失效" in req.register_note
    mismatch = apply(reg_app, "second_opinion", insured_name="李四")
    assert mismatch.status_code == 303
    assert stored(reg_app)[1].register_note == "身份证号码在名册中，但姓名不一致"
    page = soup(signed_in(reg_app, "wang.fang").get(f"/staff/requests/{req.reference}").text)
    assert page.select_one("#register")["data-register"] == "pending"
    assert "待核实" in page.select_one("#register").text


def test_pending_message_is_shown_calmly_with_the_hotline(reg_app: Flask, tmp_path: Path) -> None:
    import_file(reg_app, write_csv(tmp_path / "r.csv",
                                   roster_rows(id_number=make_id("44030419800101123"))),
                today=TODAY)
    client = reg_app.test_client()
    page = client.get("/apply/second_opinion").get_data(as_text=True)
    with reg_app.app_context():
        data = valid_data(get_rules(), "second_opinion")
    data["submission_token"] = hidden(page, "submission_token")
    data["csrf_token"] = hidden(page, "csrf_token")
    resp = client.post("/apply/second_opinion", data=data, content_type="multipart/form-data",
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "没有在保险公司提供的保单名单中找到" in html
    assert "400-606-5033" in html


def test_refused_calmly_when_content_says_so(tmp_path: Path, content_copy: Path) -> None:
    path = content_copy / "roster.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "pending_when_not_verified: true", "pending_when_not_verified: false"), encoding="utf-8")
    app = make_app(tmp_path, CONTENT_DIR=str(content_copy))
    try:
        import_file(app, write_csv(tmp_path / "r.csv", roster_rows(name="王五")), today=TODAY)
        resp = apply(app)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and 'id="refusal"' in html
        assert "姓名与您填写的不一致" in html and "400-606-5033" in html
        assert stored(app) == []
    finally:
        get_db_of(app).dispose()


def test_console_upload_checks_csrf_and_allows_a_roster_above_the_form_limit(
        tmp_path: Path) -> None:
    # the applicant forms' body limit is small here; a roster may be larger
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, MAX_CONTENT_LENGTH=4000)
    try:
        _add(app, "chief", "--supervisor")
        client = app.test_client()
        login = client.get("/staff/login").get_data(as_text=True)
        assert client.post("/staff/login", data={
            "username": "chief", "password": PASSWORD,
            "csrf_token": hidden(login, "csrf_token")}).status_code == 302
        rows = [record(policy=f"P-{i:05d}", first=FIRST, start=START, end=END)
                for i in range(200)]
        body = write_csv(tmp_path / "big.csv", rows).read_bytes()
        assert len(body) > 4000
        forged = client.post("/staff/register", data={"roster": (io.BytesIO(body), "big.csv")},
                             content_type="multipart/form-data")
        assert forged.status_code == 400 and "import-report" not in forged.get_data(as_text=True)
        token = hidden(client.get("/staff/register").get_data(as_text=True), "csrf_token")
        done = client.post("/staff/register", data={"roster": (io.BytesIO(body), "big.csv"),
                                                   "csrf_token": token},
                           content_type="multipart/form-data")
        assert done.status_code == 200
        assert soup(done.text).select_one("#import-report")["data-added"] == "200"
    finally:
        get_db_of(app).dispose()
