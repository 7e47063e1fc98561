"""The queue at scale (issue 12): ordered by the stored next due date and paginated in SQL,
the due date kept by every path that changes a request, counts from aggregates, what falls due
today and tomorrow, "mine" / "unassigned", assignment audited, and the search by reference,
name or phone by keyed hash. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from forms_app.storage import audit, get_crypto, get_db
from forms_app.storage.models import ServiceRequest
from forms_app.storage.search import NAME_PURPOSE, PHONE_PURPOSE
from forms_app.storage.withdrawal import withdraw
from service_rules.queue_order import name_key
from tests.support.forms import hidden, make_id, valid_data
from tests.support.staff import (
    APPLICANT_PHONE,
    PHONE,
    Clock,
    add_staff,
    expected_due,
    get_db_of,
    make_app,
    post_event,
    sign_in,
    soup,
)

D = dt.date
COLLEAGUE = "li.na"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    """The staff console's app (tests/staff/conftest.py) on SQLite and on PostgreSQL, with a
    second staff account."""
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    app = make_app(tmp_path, url, TODAY=clock)
    add_staff(app)
    add_staff(app, COLLEAGUE)
    yield app
    get_db_of(app).dispose()


def stored(app: Flask, reference: str) -> ServiceRequest:
    with app.app_context(), get_db().read_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        assert req is not None
        return req


def queue_refs(client: FlaskClient, **params: str) -> list[str]:
    response = client.get("/staff/", query_string=params)
    assert response.status_code == 200, response.status_code
    return [r["data-reference"] for r in soup(response.text).select("#queue tbody tr")]


def test_ordered_by_due_date_across_pages(app: Flask, staff: FlaskClient, clock: Clock,
                                          make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 20)
    # made out of order, so only the stored due date can put them in order
    days = [D(2026, 3, 2) + dt.timedelta(days=(7 * i) % 17) for i in range(53)]
    made = [(make_request("green_channel", use_id="outpatient", request_date=day,
                          files=False), day) for day in days]
    waiting = [make_request("second_opinion", request_date=D(2026, 3, 1), files=False)
               for _ in range(2)]
    # by due date, equal dates as they came in; no clock last, as they came in
    expected = [ref for ref, _day in sorted(
        made, key=lambda m: (expected_due(app, m[1], 5), made.index(m)))] + waiting
    first = staff.get("/staff/")
    doc = soup(first.text)
    page1 = [r["data-reference"] for r in doc.select("#queue tbody tr")]
    page2 = queue_refs(staff, page="2")
    assert page1 == expected[:50]
    assert page2 == expected[50:]
    assert doc.select_one("#counts")["data-total"] == "55"
    assert doc.select_one("#queue")["data-pages"] == "2"
    assert doc.select_one("#pages a[rel=next]")["href"].endswith("page=2") or \
        "page=2" in doc.select_one("#pages a[rel=next]")["href"]
    # the page shows each row's due date as the engine computes it
    shown = [D.fromisoformat(t["data-due"]) for t in doc.select("#queue tbody tr [data-due]")]
    assert shown == sorted(shown)
    assert shown[0] == expected_due(app, min(days), 5)


def test_bad_page_numbers_are_a_400_or_the_last_page(app: Flask, staff: FlaskClient,
                                                     make_request: Callable[..., str]) -> None:
    ref = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                       files=False)
    for bad in ("abc", "-1", "0", "1.5", "１", "99999999999999999999"):
        response = staff.get("/staff/", query_string={"page": bad})
        assert response.status_code == 400, bad
        assert "页码应为从 1 开始的整数" in response.text
        assert [r["data-reference"] for r in soup(response.text).select("#queue tbody tr")] \
            == [ref]
    # past the end: the last page
    assert queue_refs(staff, page="999999") == [ref]


def test_due_date_stored_and_recomputed_on_each_change(app: Flask, staff: FlaskClient,
                                                       clock: Clock,
                                                       make_request: Callable[..., str]
                                                       ) -> None:
    clock.day = D(2026, 3, 3)
    outpatient = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                              files=False)
    req = stored(app, outpatient)
    assert (req.next_due, req.next_due_promise) == (expected_due(app, D(2026, 3, 2), 5),
                                                    "outpatient_arranged")

    opinion = make_request("second_opinion", request_date=D(2026, 3, 2), files=False)
    assert stored(app, opinion).next_due is None  # no clock before the records are complete
    assert queue_refs(staff)[-1] == opinion
    assert post_event(staff, opinion, "records_complete", D(2026, 3, 3)).status_code == 303
    req = stored(app, opinion)
    assert req.next_due == expected_due(app, D(2026, 3, 3), 10)
    assert req.next_due_promise is not None
    # its report is promised after the outpatient booking's date, so it comes second
    assert queue_refs(staff) == [outpatient, opinion]

    # the promise kept: nothing falls due, whatever the request's state
    assert post_event(staff, outpatient, "appointment_booked", D(2026, 3, 3),
                      hospital_id=_hospital(app), appointment_date="2026-03-05",
                      appointment_time="09:30").status_code == 303
    assert stored(app, outpatient).next_due is None
    assert queue_refs(staff) == [opinion, outpatient]

    # withdrawn by the applicant: closed, nothing due, out of the open queue
    with app.app_context():
        withdraw(get_db(), opinion, "request", D(2026, 3, 4))
    assert stored(app, opinion).next_due is None
    assert queue_refs(staff) == [outpatient]


def test_opened_online_and_by_hotline_with_due_date_and_hashes(
        app: Flask, staff: FlaskClient, rules: Any, submit: Callable[..., Any]) -> None:
    """Both ways in store the due date and the search hashes with the request's first row."""
    online = submit("green_channel", "outpatient")
    assert online.status_code == 303
    data = {k: v for k, v in valid_data(rules, "green_channel", "outpatient").items()
            if not k.startswith("doc_")}
    # another insured (the same one's outpatient booking is used once a policy year)
    data.update(insured_name="李 四", phone="139 1234 5678", id_number=make_id("11010519800101003"))
    form = staff.get("/staff/intake/green_channel").get_data(as_text=True)
    data.update(csrf_token=hidden(form, "csrf_token"),
                submission_token=hidden(form, "submission_token"))
    by_phone = staff.post("/staff/intake/green_channel", data=data,
                          content_type="multipart/form-data")
    assert by_phone.status_code == 303
    with app.app_context(), get_db().read_session() as s:
        made = list(s.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))
    assert [r.channel for r in made] == ["online", "hotline"]
    with app.app_context():
        crypto = get_crypto()
        for req in made:
            day = next(e.event_date for e in stored_events(app, req.reference)
                       if e.event_id == "request")
            assert (req.next_due, req.next_due_promise) == (expected_due(app, day, 5),
                                                            "outpatient_arranged")
        assert made[0].insured_name_hash == crypto.lookup_hash(NAME_PURPOSE, "张三")
        assert made[1].insured_name_hash == crypto.lookup_hash(NAME_PURPOSE, "李四")
        assert made[1].phone_hash == crypto.lookup_hash(PHONE_PURPOSE, "13912345678")
    found = staff.post("/staff/search", data={"reference": "李四"})
    assert found.headers["Location"].endswith(f"/staff/requests/{made[1].reference}")


def stored_events(app: Flask, reference: str) -> list[Any]:
    with app.app_context(), get_db().read_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        assert req is not None
        return list(req.events)


def _hospital(app: Flask) -> str:
    with app.app_context():
        from forms_app.content import get_rules

        return get_rules().content.hospitals_in("beijing", "green_channel")[0].id


def test_counts_and_what_falls_due_today_and_tomorrow(app: Flask, staff: FlaskClient,
                                                      clock: Clock,
                                                      make_request: Callable[..., str]
                                                      ) -> None:
    # outpatient bookings are due 5 working days after the request
    overdue = make_request("green_channel", use_id="outpatient", request_date=D(2026, 2, 23),
                           files=False)
    today = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                         files=False)
    tomorrow = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 3),
                            files=False)
    later = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 4),
                         files=False)
    waiting = make_request("second_opinion", request_date=D(2026, 3, 2), files=False)
    clock.day = expected_due(app, D(2026, 3, 2), 5)
    assert clock.day == D(2026, 3, 9)
    assert expected_due(app, D(2026, 3, 3), 5) == D(2026, 3, 10)
    doc = soup(staff.get("/staff/").text)
    listed = {li["data-reference"]: li for li in doc.select("#falling-due li")}
    assert list(listed) == [today, tomorrow]
    assert "今天" in listed[today].text and "明天" in listed[tomorrow].text
    assert listed[today].select_one("a")["href"].endswith(f"/staff/requests/{today}")
    counts = {s["data-count"]: int(s["data-value"]) for s in doc.select("#counts [data-count]")}
    # 03-10 is the next working day: due within one working day; 03-11 on track
    assert counts == {"overdue": 1, "due_soon": 2, "on_track": 1, "no_clock": 1}
    assert [r["data-reference"] for r in doc.select("#queue tbody tr")] == \
        [overdue, today, tomorrow, later, waiting]
    assert [r["data-urgency"] for r in doc.select("#queue tbody tr")] == \
        ["overdue", "due_soon", "due_soon", "on_track", "no_clock"]

    clock.day = D(2026, 3, 12)
    assert soup(staff.get("/staff/").text).select("#falling-due li") == []


def _assign(client: FlaskClient, reference: str, action: str, assignee: str = "") -> Any:
    return client.post(f"/staff/requests/{reference}/assignment",
                       data={"action": action, "assignee": assignee})


def test_assignment_audited_and_mine_unassigned_filters(app: Flask, staff: FlaskClient,
                                                        make_request: Callable[..., str]
                                                        ) -> None:
    mine = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                        files=False)
    theirs = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 3),
                          files=False)
    nobody = make_request("direct_billing", request_date=D(2026, 3, 2), files=False)
    assert _assign(staff, mine, "me").status_code == 303
    assert _assign(staff, theirs, "chosen", COLLEAGUE).status_code == 303
    assert stored(app, mine).assigned_to == "wang.fang"
    assert stored(app, theirs).assigned_to == COLLEAGUE
    assert queue_refs(staff, assigned="mine") == [mine]
    assert set(queue_refs(staff, assigned="unassigned")) == {nobody}
    assert set(queue_refs(staff)) == {mine, theirs, nobody}

    # the colleague's "mine" is theirs
    other = app.test_client()
    assert sign_in(other, COLLEAGUE).status_code == 302
    assert queue_refs(other, assigned="mine") == [theirs]

    assert _assign(staff, mine, "unassign").status_code == 303
    assert stored(app, mine).assigned_to is None
    assert set(queue_refs(staff, assigned="unassigned")) == {mine, nobody}
    with app.app_context():
        entries = [(e.actor, e.action, e.details.get("assigned_before"),
                    e.details.get("assigned_to"))
                   for e in audit.entries_for(get_db(), stored(app, mine).id)
                   if e.action.startswith("request_")]
    assert ("wang.fang", "request_assigned", None, "wang.fang") in entries
    assert ("wang.fang", "request_unassigned", "wang.fang", None) in entries
    page = staff.get(f"/staff/requests/{theirs}").text
    assert "分配申请" in page  # the audit trail names it
    assert soup(page).select_one("#assignment")["data-assigned"] == COLLEAGUE

    # an unknown or deactivated colleague, or no choice: a message at the field, nothing set
    response = _assign(staff, nobody, "chosen", "no.such.person")
    assert response.status_code == 422
    assert "请从列表中选择一位在职的服务人员" in response.text
    assert _assign(staff, nobody, "chosen", "").status_code == 422
    assert _assign(staff, nobody, "sideways").status_code == 400
    assert stored(app, nobody).assigned_to is None
    # an ended request is not assigned any more
    assert post_event(staff, nobody, "billing_declined", D(2026, 3, 2),
                      reason="不在合作医院").status_code == 303
    response = _assign(staff, nobody, "me")
    assert response.status_code == 303
    assert stored(app, nobody).assigned_to is None
    # ended requests are counted too where the filter asks for them
    for status, total in (("closed", "1"), ("all", "3"), ("active", "2")):
        doc = soup(staff.get("/staff/", query_string={"status": status}).text)
        assert doc.select_one("#counts")["data-total"] == total, status


def _statements(app: Flask) -> tuple[list[tuple[str, Any]], Callable[[], None]]:
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = get_db().engine
    event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listen)


def test_search_by_name_and_phone_by_keyed_hash(app: Flask, staff: FlaskClient,
                                                make_request: Callable[..., str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    one = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                       files=False)
    two = make_request("second_opinion", request_date=D(2026, 3, 2), files=False,
                       applicant_phone=APPLICANT_PHONE)
    req = stored(app, two)
    with app.app_context():
        crypto = get_crypto()
        assert req.insured_name_hash == crypto.lookup_hash(NAME_PURPOSE, name_key("张三"))
        assert req.phone_hash == crypto.lookup_hash(PHONE_PURPOSE, PHONE)
        assert req.applicant_phone_hash == crypto.lookup_hash(PHONE_PURPOSE, APPLICANT_PHONE)
    for value in (req.insured_name_hash, req.phone_hash, req.applicant_phone_hash):
        assert value and len(value) == 64 and "张三" not in value and PHONE not in value
    assert stored(app, one).applicant_phone_hash is None

    caplog.set_level(logging.DEBUG)
    seen, stop = _statements(app)
    try:
        # the name as typed with a space: both requests, listed with masked data only
        listing = staff.post("/staff/search", data={"reference": "张 三"})
        assert listing.status_code == 200
        rows = soup(listing.text).select("#matches tr[data-reference]")
        assert {r["data-reference"] for r in rows} == {one, two}
        assert "138****8000" in listing.text
        # the insured's phone finds both, the applicant's only the one they applied for
        both = staff.post("/staff/search", data={"reference": "138 0013-8000"})
        assert both.status_code == 200 and both.text.count("data-reference=") >= 2
        single = staff.post("/staff/search", data={"reference": f"+86 {APPLICANT_PHONE}"})
        assert single.status_code == 303
        assert single.headers["Location"].endswith(f"/staff/requests/{two}")
        none = staff.post("/staff/search", data={"reference": "李四"}, follow_redirects=True)
        assert none.status_code == 200 and "没有找到符合的申请" in none.text
    finally:
        stop()
    typed = ("张三", "张 三", "李四", PHONE, "138 0013-8000", APPLICANT_PHONE)
    # never echoed: not on the pages (which show masked data only), not in the address
    for response in (listing, both, none):
        for text in typed:
            assert text not in response.text
    assert all(text not in single.headers["Location"] for text in typed)
    # matched in SQL by hash: the clear text is in no statement and no parameter, no LIKE
    assert seen
    for statement, parameters in seen:
        assert " LIKE " not in statement.upper()
        for text in typed:
            assert text not in statement and text not in repr(parameters)
    for record in caplog.records:
        for text in typed:
            assert text not in record.getMessage()


def test_search_by_reference_still_opens_the_request(app: Flask, staff: FlaskClient,
                                                     make_request: Callable[..., str]) -> None:
    ref = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                       files=False)
    response = staff.post("/staff/search", data={"reference": f" {ref[:4].lower()}-{ref[4:]} "})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/requests/{ref}")
    response = staff.post("/staff/search", data={"reference": "AAAA-2222"}, follow_redirects=True)
    assert "没有找到这个申请编号" in response.text
    response = staff.post("/staff/search", data={"reference": "  "}, follow_redirects=True)
    assert "请填写申请编号、被保险人姓名或手机号码" in response.text


def test_refresh_queue_fills_older_rows(app: Flask, make_request: Callable[..., str]) -> None:
    """Rows from before migration 0009 have no due date and no hashes: the command fills
    both, and a repeat changes nothing."""
    ref = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2),
                       files=False)
    before = stored(app, ref)
    with app.app_context(), get_db().write_session() as s:
        s.execute(update(ServiceRequest).values(
            next_due=None, next_due_promise=None, insured_name_hash=None, phone_hash=None,
            applicant_phone_hash=None))
    result = app.test_cli_runner().invoke(args=["refresh-queue"])
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output and "filled for 1" in result.output
    after = stored(app, ref)
    assert (after.next_due, after.next_due_promise, after.insured_name_hash, after.phone_hash) \
        == (before.next_due, before.next_due_promise, before.insured_name_hash,
            before.phone_hash)
    again = app.test_cli_runner().invoke(args=["refresh-queue"])
    assert "0 changed" in again.output and "filled for 0" in again.output


def test_deleted_personal_data_takes_its_search_hashes(app: Flask, staff: FlaskClient,
                                                       clock: Clock,
                                                       make_request: Callable[..., str]
                                                       ) -> None:
    ref = make_request("second_opinion", request_date=D(2022, 1, 10), files=False)
    clock.day = D(2022, 1, 12)
    assert post_event(staff, ref, "lapsed", D(2022, 1, 12), reason="无法提供资料").status_code \
        == 303
    assert staff.post("/staff/search", data={"reference": "张三"}).status_code == 303
    clock.day = D(2025, 1, 12)  # the retention has run out
    result = app.test_cli_runner().invoke(args=["apply-retention"])
    assert result.exit_code == 0 and "deleted 1" in result.output, result.output
    req = stored(app, ref)
    assert (req.insured_name_hash, req.phone_hash, req.applicant_phone_hash, req.next_due) \
        == (None, None, None, None)
    for typed in ("张三", PHONE):
        found = staff.post("/staff/search", data={"reference": typed}, follow_redirects=True)
        assert "没有找到符合的申请" in found.text
