"""Reading the staff pages (BeautifulSoup) and the expected dates from the engine."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from forms_app.content import get_rules
from forms_app.messages.links import status_link_maker
from forms_app.storage import get_crypto, get_db
from forms_app.storage.requests import NewRequest, create_request
from service_rules.deadlines import add_working_days
from service_rules.promises import compute_promises, snapshot_service
from tests.support.apps import build_app
from tests.support.sample_files import minimal_pdf

PASSWORD = "correct horse battery"
STAFF = "wang.fang"
# 110105 19491231 002 X: a valid resident ID number (check character X)
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
APPLICANT_PHONE = "13912345678"
PDF = minimal_pdf()  # a real one-page PDF: uploads are opened before they are accepted


class Clock:
    """A settable "today" for app.config["TODAY"]."""

    def __init__(self, day: dt.date):
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


def make_app(tmp_path: Path, database_url: str | None = None, **extra: Any) -> Flask:
    """An app for the staff console: CSRF and rate limits off (they have tests of their
    own), so a test can post the console's forms directly."""
    config: dict[str, Any] = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                              "SITE_DIR": str(tmp_path / "site")}
    if database_url:
        config["DATABASE_URL"] = database_url
    return build_app(tmp_path, **{**config, **extra})


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def page(client: FlaskClient, reference: str) -> BeautifulSoup:
    response = client.get(f"/staff/requests/{reference}")
    assert response.status_code == 200, response.status_code
    return soup(response.text)


def shown_promises(doc: BeautifulSoup) -> dict[str, dict[str, Any]]:
    """{promise_id: {"due": date | None, "outcome": str, "urgency": str | None}}"""
    out = {}
    for row in doc.select("#promises tr[data-promise]"):
        due = row.select_one("[data-due]")
        urgency = row.select_one("[data-urgency]")
        out[row["data-promise"]] = {
            "due": dt.date.fromisoformat(due["data-due"]) if due else None,
            "outcome": row["data-outcome"],
            "urgency": urgency["data-urgency"] if urgency else None,
        }
    return out


def status_of(doc: BeautifulSoup) -> str:
    return doc.select_one("#status")["data-status"]


def done_steps(doc: BeautifulSoup) -> list[str]:
    return [li["data-step"] for li in doc.select("#flow li[data-done=yes]")]


def expected_due(app: Flask, start: dt.date, working_days: int) -> dt.date:
    """The N-th working day after `start`, by the service_rules engine."""
    with app.app_context():
        return add_working_days(get_rules().calendar, start, working_days).date


def post_event(client: FlaskClient, reference: str, event_id: str, day: dt.date,
               **fields: str) -> Any:
    data = {f"{event_id}-event_date": day.isoformat()}
    data.update({f"{event_id}-{k}": v for k, v in fields.items()})
    return client.post(f"/staff/requests/{reference}/events/{event_id}", data=data)


def workday_on_or_after(app: Flask, day: dt.date) -> dt.date:
    with app.app_context():
        cal = get_rules().calendar
        while not cal.is_workday(day):
            day += dt.timedelta(days=1)
        return day


def get_db_of(app: Flask) -> Any:
    with app.app_context():
        return get_db()


def add_staff(app: Flask, username: str = STAFF, password: str = PASSWORD) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-staff", username], env={"STAFF_PASSWORD": password})
    assert result.exit_code == 0, result.output


def sign_in(client: FlaskClient, username: str = STAFF, password: str = PASSWORD) -> Any:
    return client.post("/staff/login", data={"username": username, "password": password})


def signed_in_staff(app: Flask) -> FlaskClient:
    """The staff account made (`add_staff`) and a client signed in with it."""
    add_staff(app)
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    return staff


def new_request(app: Flask, service_id: str, *, use_id: str | None = None,
                request_date: dt.date, city_id: str | None = "beijing",
                events: dict[str, dt.date] | None = None, details: dict[str, Any] | None = None,
                applicant_phone: str | None = None, files: bool = True) -> str:
    """Create a request as the online form would (store layer); returns its reference."""
    with app.app_context():
        rules = get_rules()
        content = rules.content
        service = content.service(service_id)
        use = use_id or service.uses[0].id
        snapshot = snapshot_service(content, service_id)
        dated = {"request": request_date, **(events or {})}
        initial = [p.as_dict() for p in compute_promises(rules.calendar, snapshot, use, dated)]
        hospital = next((h.id for h in content.hospitals_in(city_id, service_id)), None) \
            if city_id else None
        new = NewRequest(
            service_id=service_id, use_id=use, insured_name="张三", id_number=ID_NUMBER,
            phone=PHONE, applicant_relation="子女" if applicant_phone else "本人",
            applicant_name="张小三" if applicant_phone else None,
            applicant_phone=applicant_phone, policy_number="P2025000123",
            policy_effective=dt.date(2025, 1, 1), diagnosis_date=request_date - dt.timedelta(30),
            first_diagnosis=True, city_id=city_id, hospital_id=hospital,
            details=details or {}, consent_text=content.product.sensitive_consent,
            submission_token=secrets.token_hex(16), content_version=content.version,
            service_snapshot=snapshot, request_date=request_date, events=events or {},
            files=[("pathology_report", PDF, "pdf", "application/pdf")] if files else [],
            initial_promises=initial,
            status_link=status_link_maker(app.config, get_crypto()))
        reference, created = create_request(get_db(), get_crypto(),
                                            Path(app.config["UPLOAD_DIR"]), new)
        assert created
        return reference
