"""Status lookup (POST, same answer for wrong pairs, rate-limited), JSON API, site serving."""

from __future__ import annotations

import re

import pytest

from forms_app.api.openapi import openapi_document
from forms_app.content import get_rules
from service_rules.deadlines import promise_due, shanghai_today
from tests.support.forms import VALID_ID, hidden


def csrf(client, path: str = "/status/") -> str:
    return hidden(client.get(path).get_data(as_text=True), "csrf_token")


def lookup(client, reference: str, last4: str):
    return client.post("/status/", follow_redirects=True,
                       data={"csrf_token": csrf(client), "reference": reference,
                                         "last4": last4})


def client_refresh_is_free(client, ref: str) -> bool:
    """Reading the status page again is a GET: no lookup, no use of the lookup limit."""
    return all(client.get(f"/status/{ref}").status_code == 200 for _ in range(12))


def test_status_shows_flow_and_promised_dates(app, submit, rules):
    location = submit("direct_billing").headers["Location"]
    ref = location.rsplit("/", 1)[-1]
    other = app.test_client()  # another browser: must look the request up
    resp = lookup(other, f"{ref[:4].lower()} {ref[4:]}", VALID_ID[-4:].lower())
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    service = rules.content.service("direct_billing")
    promise = service.promises[0]
    due = promise_due(rules.calendar, rules.content, promise, {"request": shanghai_today()})
    assert f'data-date="{due.date.isoformat()}"' in html
    assert "在线提交申请" in html  # the channel used, not the brochure's hotline call
    for step in service.flow[1:]:
        assert step.title in html
    assert 'aria-current="step"' in html
    assert VALID_ID not in html
    # the page has its own address (it can be refreshed and bookmarked), with nothing personal
    assert resp.request.path == f"/status/{ref}" and not resp.request.query_string
    assert client_refresh_is_free(other, ref)
    assert resp.headers["Cache-Control"] == "no-store"
    # after a lookup this browser may see the confirmation and .ics
    assert other.get(location).status_code == 200


def test_wrong_reference_and_wrong_pair_get_the_same_answer(app, submit):
    ref = submit("second_opinion").headers["Location"].rsplit("/", 1)[-1]
    c1, c2 = app.test_client(), app.test_client()
    wrong_pair = lookup(c1, ref, "9999")
    unknown = lookup(c2, "XXXX2345" if ref != "XXXX2345" else "YYYY2345", VALID_ID[-4:])
    assert wrong_pair.status_code == unknown.status_code == 404

    def body(resp) -> str:
        html = resp.get_data(as_text=True)
        html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)
        return re.sub(r'value="[^"]*"', "", html)

    assert body(wrong_pair) == body(unknown)


@pytest.mark.parametrize("reference,last4,field", [
    ("", "002X", "reference"), ("ABC", "002X", "reference"), ("ABCD-1234", "002X", "reference"),
    ("ABCD-2345", "", "last4"), ("ABCD-2345", "12", "last4"), ("ABCD-2345", "X123", "last4")])
def test_status_bad_input(client, reference, last4, field):
    resp = lookup(client, reference, last4)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html and 'id="error-summary"' in html
    if reference:
        assert f'value="{reference}"' in html or field != "reference"


def test_status_lookup_is_rate_limited(app):
    client = app.test_client()
    limit = int(app.config["STATUS_RATE_LIMIT"].split()[0])
    codes = [lookup(client, "ABCD2345", "0000").status_code for _ in range(limit + 1)]
    assert codes[:limit] == [404] * limit
    assert codes[-1] == 429
    assert "尝试次数太多" in lookup(client, "ABCD2345", "0000").get_data(as_text=True)


def test_status_expired_csrf_is_a_plain_message(client):
    resp = client.post("/status/", data={"csrf_token": "old", "reference": "ABCD2345",
                                         "last4": "002X"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "查询" in html and 'value="ABCD2345"' in html


# -- JSON API --------------------------------------------------------------------------------
def test_api_services_lists_the_content(client, rules):
    data = client.get("/api/services").get_json()
    assert [s["id"] for s in data["services"]] == [s.id for s in rules.content.services]
    for item, service in zip(data["services"], rules.content.services, strict=True):
        assert [p["working_days"] for p in item["promises"]] == \
            [p.working_days for p in service.promises]
        assert [d["required"] for d in item["documents"]] == \
            [d.required for d in service.documents]


@pytest.mark.parametrize("day", ["2026-09-29", "2026-12-31", "2027-09-28", "2024-02-08"])
def test_api_promises_match_the_engine(client, rules, day):
    import datetime as dt

    for service in rules.content.services:
        for use in service.uses:
            events = {e: day for p in service.promises_for(use.id) for e in p.starts_after}
            resp = client.post("/api/promises", json={"service_id": service.id,
                                                      "use_id": use.id, "events": events})
            assert resp.status_code == 200
            got = resp.get_json()["promises"]
            for item, promise in zip(got, service.promises_for(use.id), strict=True):
                due = promise_due(rules.calendar, rules.content, promise,
                                  {e: dt.date.fromisoformat(v) for e, v in events.items()})
                assert item["date"] == due.date.isoformat()
                assert item["provisional"] == due.provisional
                assert item["rule"] == due.rule


def test_api_promise_waiting_for_an_event(client):
    resp = client.post("/api/promises", json={"service_id": "green_channel",
                                              "use_id": "inpatient",
                                              "events": {"request": "2026-11-24"}})
    item = resp.get_json()["promises"][0]
    assert item["started"] is False and item["waiting_for"]


@pytest.mark.parametrize("body,status", [
    ("not json", 400), ([1, 2], 400), ({"service_id": "nope", "events": {}}, 422),
    ({"service_id": "green_channel", "events": {}}, 422),
    ({"service_id": "second_opinion", "events": {"nope": "2026-01-01"}}, 422),
    ({"service_id": "second_opinion", "events": {"records_complete": "2026-13-01"}}, 422),
    ({"service_id": "second_opinion", "events": {"records_complete": 20260101}}, 422),
    ({"service_id": "second_opinion", "events": {"records_complete": "2199-01-01"}}, 422),
    ({"service_id": "second_opinion", "events": "x"}, 422),
])
def test_api_bad_input_is_4xx_json(client, body, status):
    if isinstance(body, str):
        resp = client.post("/api/promises", data=body, content_type="application/json")
    else:
        resp = client.post("/api/promises", json=body)
    assert resp.status_code == status
    assert "error" in resp.get_json()


def test_openapi_document_describes_the_api(client, app):
    doc = client.get("/api/openapi.json").get_json()
    with app.app_context():
        assert doc == openapi_document(get_rules()) and doc["openapi"].startswith("3.")
    body = doc["paths"]["/api/promises"]["post"]["requestBody"]["content"]["application/json"]
    assert [alt["properties"]["service_id"]["const"] for alt in body["schema"]["oneOf"]] == [
        "green_channel", "second_opinion", "genetic_testing", "direct_billing"]
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert api_rules == set(doc["paths"])


# -- site serving ----------------------------------------------------------------------------
def test_site_is_served_at_root(tmp_path):
    from tests.support.apps import build_app as _app

    site = tmp_path / "site"
    (site / "services" / "green_channel").mkdir(parents=True)
    (site / "index.html").write_text("<h1>首页</h1>", encoding="utf-8")
    (site / "services" / "green_channel" / "index.html").write_text("绿通", encoding="utf-8")
    (site / "404.html").write_text("<p>找不到页面</p>", encoding="utf-8")
    app = _app(tmp_path, SITE_DIR=str(site))
    c = app.test_client()
    assert "首页" in c.get("/").get_data(as_text=True)
    assert c.get("/services/green_channel").status_code in (301, 302)  # to the folder
    assert c.get("/services/green_channel/").get_data(as_text=True) == "绿通"
    missing = c.get("/no/such/page/")
    assert missing.status_code == 404 and "找不到页面" in missing.get_data(as_text=True)
    assert c.get("/../etc/passwd").status_code == 404
    assert c.get("/apply/").status_code == 200  # the forms still win over the site


def test_provisional_dates_are_marked(app, rules):
    """A promise in a year whose official arrangement is not published is shown as 暂定."""
    import datetime as dt
    from pathlib import Path

    from forms_app.storage.requests import create_request
    from tests.support.storage import new_request

    cal = rules.calendar
    year = next(y for y in range(2025, 2100) if not cal.is_official(y))
    new = new_request(rules, token="prov", service_id="direct_billing", use_id="direct_billing")
    new.request_date = dt.date(year, 3, 2)
    ref, _ = create_request(app.extensions["forms_db"], app.extensions["forms_crypto"],
                            Path(app.config["UPLOAD_DIR"]), new)
    client = app.test_client()
    html = lookup(client, ref, VALID_ID[-4:]).get_data(as_text=True)
    assert "暂定" in html and str(year) in html
    ics = client.get(f"/apply/confirmation/{ref}.ics").get_data(as_text=True)
    assert "暂定" in ics
