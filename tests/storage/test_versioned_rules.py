"""Rules are versioned: a request keeps the promise it was made under after the content changes.

A green-channel outpatient request goes through the real form; the editors then change the
outpatient promise from 5 to 7 working days; an app started on the same database with the new
content still shows and computes the 5-working-day date for the old request (and says which
content version it follows), while a new request gets the 7-working-day date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from forms_app.applicant.viewmodels import request_view
from forms_app.content import get_rules
from forms_app.storage import get_db
from forms_app.storage.crypto import new_key
from forms_app.storage.requests import find_by_reference, summary_of
from service_rules import load_rules
from service_rules.deadlines import shanghai_today
from tests.support.apps import build_app
from tests.support.forms import VALID_ID, hidden, make_id, post_form, valid_data

OUTPATIENT = ("        working_days: 5\n        starts_after: [request]\n"
              "        promise: 安排门诊\n")
OUTPATIENT_PROSE = "门诊在客户预约申请后5个工作日内"
PROMISE_ID = "outpatient_arranged"


@contextmanager
def running_app(tmp_path: Path, content_dir: Path, data_key: str) -> Iterator[Flask]:
    """The request app on the test's database, with the given content; disposed afterwards."""
    app = build_app(tmp_path, CONTENT_DIR=str(content_dir), DATA_KEY=data_key,
                    RATELIMIT_ENABLED=False)
    try:
        yield app
    finally:
        app.extensions["forms_db"].dispose()


def promised_dates(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-promise="([^"]+)" data-date="([^"]+)"', html))


def apply_outpatient(app: Flask, content_dir: Path, **overrides: str) -> tuple[str, str]:
    """Fill and POST the green-channel outpatient form; (reference, confirmation page)."""
    client = app.test_client()
    page = client.get("/apply/green_channel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    tokens = {"csrf_token": hidden(html, "csrf_token"),
              "submission_token": hidden(html, "submission_token")}
    data = {**valid_data(load_rules(content_dir), "green_channel", "outpatient"), **overrides}
    resp = post_form(client, "green_channel", tokens, data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    reference = resp.headers["Location"].rsplit("/", 1)[-1]
    confirmation = client.get(resp.headers["Location"])
    assert confirmation.status_code == 200
    return reference, confirmation.get_data(as_text=True)


def status_page(client: FlaskClient, reference: str, id_number: str) -> str:
    """Look a request up as the applicant does: reference + last 4 of the ID number."""
    form = client.get("/status/").get_data(as_text=True)
    resp = client.post("/status/", follow_redirects=True,
                       data={"csrf_token": hidden(form, "csrf_token"),
                             "reference": reference, "last4": id_number[-4:]})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def stored(app: Flask, reference: str) -> tuple[str, str, dt.date]:
    """(content version, stored initial date, date computed now) of a stored request."""
    with app.test_request_context():
        with get_db().read_session() as session:
            req = find_by_reference(session, reference)
            assert req is not None
        view = request_view(get_rules(), summary_of(req))
        computed = next(p for p in view.promises if p.promise_id == PROMISE_ID)
        initial = next(p for p in req.initial_promises if p["promise_id"] == PROMISE_ID)
        assert computed.deadline is not None
        return req.content_version, initial["date"], computed.deadline.date


def test_old_request_keeps_its_promise_after_a_content_change(tmp_path: Path,
                                                              content_copy: Path) -> None:
    data_key = new_key()  # one key for both apps, as in production
    today = shanghai_today()
    old_rules = load_rules(content_copy)
    five = old_rules.calendar.add_workdays(today, 5)
    seven = old_rules.calendar.add_workdays(today, 7)
    assert five != seven

    with running_app(tmp_path, content_copy, data_key) as app:
        old_ref, confirmation = apply_outpatient(app, content_copy)
        assert promised_dates(confirmation)[PROMISE_ID] == five.isoformat()
        version, initial, computed = stored(app, old_ref)
        assert version == old_rules.content.version
        assert (initial, computed) == (five.isoformat(), five)

    # The editors change the outpatient promise from 5 to 7 working days.
    services = content_copy / "services.yaml"
    text = services.read_text(encoding="utf-8")
    assert text.count(OUTPATIENT) == 1
    text = text.replace(OUTPATIENT, OUTPATIENT.replace("working_days: 5", "working_days: 7"))
    # ... and, as the check demands, the flow step that states it
    assert text.count(OUTPATIENT_PROSE) == 1
    services.write_text(text.replace(OUTPATIENT_PROSE, OUTPATIENT_PROSE.replace("5", "7")),
                        encoding="utf-8")
    new_rules = load_rules(content_copy)
    assert new_rules.content.version != old_rules.content.version
    assert new_rules.content.service("green_channel").promise(PROMISE_ID).working_days == 7

    with running_app(tmp_path, content_copy, data_key) as app:
        assert get_rules_version(app) == new_rules.content.version
        # The old request: still 5 working days, on its status page and when computed again.
        page = status_page(app.test_client(), old_ref, VALID_ID)
        assert promised_dates(page)[PROMISE_ID] == five.isoformat()
        assert "5个工作日内安排门诊" in page and "7个工作日内安排门诊" not in page
        version, initial, computed = stored(app, old_ref)
        assert version == old_rules.content.version
        assert (initial, computed) == (five.isoformat(), five)

        # A new request (another insured person) follows the new rule.
        other_id = make_id("11010519800101003")
        new_ref, confirmation = apply_outpatient(app, content_copy, id_number=other_id,
                                                 policy_number="P2025-0002")
        assert new_ref != old_ref
        assert promised_dates(confirmation)[PROMISE_ID] == seven.isoformat()
        assert "7个工作日内安排门诊" in confirmation
        version, initial, computed = stored(app, new_ref)
        assert version == new_rules.content.version
        assert (initial, computed) == (seven.isoformat(), seven)
        # ... and the old one is still untouched after the new one was stored.
        assert stored(app, old_ref)[2] == five

        # Staff see which content version each request follows.
        staff = signed_in_staff(app)
        old_page = staff.get(f"/staff/requests/{old_ref}").get_data(as_text=True)
        assert old_rules.content.version in old_page and "提交时的版本" in old_page
        assert re.search(rf'data-promise="{PROMISE_ID}"[^>]*>(?:(?!</tr>).)*'
                         rf'data-due="{five.isoformat()}"', old_page, re.S)
        new_page = staff.get(f"/staff/requests/{new_ref}").get_data(as_text=True)
        assert new_rules.content.version in new_page and "（当前版本）" in new_page


def signed_in_staff(app: Flask) -> FlaskClient:
    result = app.test_cli_runner().invoke(args=["create-staff", "li.na"],
                                          env={"STAFF_PASSWORD": "a long enough password"})
    assert result.exit_code == 0, result.output
    client = app.test_client()
    form = client.get("/staff/login").get_data(as_text=True)
    resp = client.post("/staff/login", data={"csrf_token": hidden(form, "csrf_token"),
                                             "username": "li.na",
                                             "password": "a long enough password"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    return client


def get_rules_version(app: Flask) -> str:
    with app.app_context():
        return get_rules().content.version
