"""The queue: ordered by the next promise due, marked on track / due within one working day /
overdue by the working-day engine, with a frozen "today"; filters and find by reference; the
pure classification in service_rules.workflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from service_rules import load_rules
from service_rules.workflow import DUE_SOON, ON_TRACK, OVERDUE, classify_due
from tests.support.staff import Clock, expected_due, page, post_event, shown_promises, soup

D = dt.date
RULES = load_rules()


def queue(client: FlaskClient, **params: str) -> list[tuple[str, str, str | None]]:
    response = client.get("/staff/", query_string=params)
    assert response.status_code == 200
    rows = soup(response.text).select("#queue tbody tr")
    return [(r["data-reference"], r["data-urgency"],
             r.select_one("[data-due]")["data-due"] if r.select_one("[data-due]") else None)
            for r in rows]


def test_classify_due_counts_working_days() -> None:
    cal = RULES.calendar
    # 2026-10-01..07 is the National Day holiday; 2026-10-08 the first working day after it
    due = D(2026, 10, 8)
    assert not any(cal.is_workday(D(2026, 10, d)) for d in range(1, 8))
    assert classify_due(cal, due, due) == DUE_SOON                  # due today
    assert classify_due(cal, D(2026, 9, 30), due) == DUE_SOON       # next working day
    assert cal.workdays_between(D(2026, 9, 29), due) == 2
    assert classify_due(cal, D(2026, 9, 29), due) == ON_TRACK
    assert classify_due(cal, D(2026, 10, 9), due) == OVERDUE


def test_request_goes_overdue(app: Flask, staff: FlaskClient, clock: Clock,
                              make_request: Callable[..., str]) -> None:
    start = D(2026, 3, 2)
    clock.day = start
    ref = make_request("green_channel", use_id="outpatient", request_date=start)
    due = expected_due(app, start, 5)
    cal = RULES.calendar

    assert queue(staff) == [(ref, "on_track", due.isoformat())]
    # one working day before the due date: due within one working day
    clock.day = next(d for d in (due - dt.timedelta(days=n) for n in range(1, 10))
                     if cal.workdays_between(d, due) == 1)
    assert queue(staff)[0][1] == "due_soon"
    clock.day = due
    assert queue(staff)[0][1] == "due_soon"
    clock.day = due + dt.timedelta(days=1)
    assert queue(staff)[0][1] == "overdue"
    doc = page(staff, ref)
    assert shown_promises(doc)["outpatient_arranged"]["urgency"] == "overdue"
    assert shown_promises(doc)["outpatient_arranged"]["outcome"] == "broken"

    # booked late: the promise is shown as kept late, and leaves the queue's clock
    assert post_event(staff, ref, "appointment_booked", clock.day, hospital_id=_hospital(),
                      appointment_date=clock.day.isoformat(),
                      appointment_time="10:00").status_code == 303
    assert shown_promises(page(staff, ref))["outpatient_arranged"]["outcome"] == "late"
    assert queue(staff) == [(ref, "no_clock", None)]


def _hospital() -> str:
    return RULES.content.hospitals_in("beijing", "green_channel")[0].id


def test_queue_order_filters_and_find(app: Flask, staff: FlaskClient, clock: Clock,
                                      make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 3, 10)
    # second opinion before records are complete: no clock yet, last in the queue
    waiting = make_request("second_opinion", request_date=D(2026, 3, 9), city_id="shanghai")
    late = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 2))
    soon = make_request("direct_billing", request_date=D(2026, 3, 6))
    later = make_request("green_channel", use_id="outpatient", request_date=D(2026, 3, 10),
                         city_id="shanghai")
    rows = queue(staff)
    assert [r[0] for r in rows] == [late, soon, later, waiting]
    assert [r[1] for r in rows] == ["overdue", "due_soon", "on_track", "no_clock"]
    dues = [D.fromisoformat(r[2]) for r in rows if r[2]]
    assert dues == sorted(dues)
    assert dues == [expected_due(app, D(2026, 3, 2), 5), expected_due(app, D(2026, 3, 6), 3),
                    expected_due(app, D(2026, 3, 10), 5)]

    assert [r[0] for r in queue(staff, service="green_channel")] == [late, later]
    assert [r[0] for r in queue(staff, city="shanghai")] == [later, waiting]
    assert queue(staff, status="completed") == []
    assert post_event(staff, soon, "billing_declined", clock.day,
                      reason="不在合作医院").status_code == 303
    assert [r[0] for r in queue(staff)] == [late, later, waiting]
    assert [r[0] for r in queue(staff, status="declined")] == [soon]
    assert [r[0] for r in queue(staff, status="closed")] == [soon]

    # find by reference: as typed on the phone (lower case, hyphen, spaces)
    typed = f" {later[:4].lower()}-{later[4:].lower()} "
    response = staff.post("/staff/search", data={"reference": typed})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/requests/{later}")
    response = staff.post("/staff/search", data={"reference": "AAAA-2222"},
                          follow_redirects=True)
    assert response.status_code == 200 and "没有找到这个申请编号" in response.text
