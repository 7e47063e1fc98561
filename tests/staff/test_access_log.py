"""Who looked (issue 14): every staff view of a request's personal data is in the audit log,
and a supervisor sees who viewed which request and when; other staff cannot."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient

from tests.support.staff import PASSWORD, new_request, sign_in, soup


def _supervisor(app: Flask) -> FlaskClient:
    result = app.test_cli_runner().invoke(args=["create-staff", "li.zhuguan", "--supervisor"],
                                          env={"STAFF_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert sign_in(client, "li.zhuguan").status_code == 302
    return client


def test_a_supervisor_sees_who_viewed_which_request(app: Flask, staff: FlaskClient) -> None:
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    other = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    assert staff.get(f"/staff/requests/{ref}").status_code == 200
    assert staff.post(f"/staff/requests/{ref}/reveal", data={"field": "id_number"}) \
        .status_code == 200
    doc = soup(staff.get(f"/staff/requests/{ref}").text).select_one("#documents a")
    assert staff.get(doc["href"]).status_code == 200
    assert staff.get(f"/staff/requests/{other}").status_code == 200

    # an ordinary account may not read the log
    assert staff.get("/staff/access-log").status_code == 403
    boss = _supervisor(app)
    page = soup(boss.get("/staff/access-log").text)
    rows = [(r["data-actor"], r["data-action"], r["data-reference"])
            for r in page.select("#access-log tbody tr")]
    assert rows.count(("wang.fang", "request_viewed", ref)) == 2
    assert ("wang.fang", "personal_data_revealed", ref) in rows
    assert ("wang.fang", "document_downloaded", ref) in rows
    assert ("wang.fang", "request_viewed", other) in rows
    # filtered by request and by account; the time is shown in Beijing time
    only = soup(boss.get("/staff/access-log", query_string={"reference": other}).text)
    assert {r["data-reference"] for r in only.select("#access-log tbody tr")} == {other}
    nobody = soup(boss.get("/staff/access-log", query_string={"actor": "zhao.liu"}).text)
    assert not nobody.select("#access-log tbody tr")
    today = boss.get("/staff/access-log", query_string={"since": "2000-01-01",
                                                        "until": "2100-01-01"})
    assert today.status_code == 200 and ref in today.text


def test_the_request_page_sums_up_page_views_and_lists_what_was_done(
        app: Flask, staff: FlaskClient) -> None:
    """Page views outnumber everything else on a request handled for weeks: the request page's
    log lists what was done (and every reveal), and says in one line how often the page was
    opened, when last and by whom, with the supervisor's link to each view."""
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 3, 2))
    for _ in range(3):
        assert staff.get(f"/staff/requests/{ref}").status_code == 200
    assert staff.post(f"/staff/requests/{ref}/reveal", data={"field": "id_number"}) \
        .status_code == 200
    boss = _supervisor(app)
    page = soup(boss.get(f"/staff/requests/{ref}").text)
    actions = [tr["data-action"] for tr in page.select("#audit tr[data-action]")]
    assert "request_viewed" not in actions
    assert actions[0] == "request_created" and actions.count("personal_data_revealed") == 1
    views = page.select_one("#page-views")
    assert views["data-count"] == "4"
    assert "4 次" in views.text and "li.zhuguan" in views.text
    link = views.select_one("a")["href"]
    listed = soup(boss.get(link).text).select("#access-log tbody tr")
    assert [r["data-action"] for r in listed].count("request_viewed") == 4
    assert {r["data-reference"] for r in listed} == {ref}
    # an ordinary account sees the sum but no link to a page it may not open
    mine = soup(staff.get(f"/staff/requests/{ref}").text).select_one("#page-views")
    assert mine["data-count"] == "5" and "wang.fang" in mine.text and mine.select_one("a") is None
