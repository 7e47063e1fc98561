"""Every flow of the brochure worked from request to its end through the staff HTTP endpoints,
with the promised dates checked at each step against the service_rules engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.content import get_rules
from forms_app.storage import get_db
from forms_app.storage.models import AuditLog, Outbox, ServiceRequest
from tests.support.staff import (
    APPLICANT_PHONE,
    STAFF,
    Clock,
    done_steps,
    expected_due,
    page,
    post_event,
    shown_promises,
    status_of,
)

D = dt.date
HOSPITAL = "<first partner hospital in the city>"


def latest(*names: str) -> Callable[[dict[str, dt.date]], dt.date | None]:
    """The clock start of a promise: the later of its starting events (None until all)."""
    def start(events: dict[str, dt.date]) -> dt.date | None:
        if any(n not in events for n in names):
            return None
        return max(events[n] for n in names)
    return start


@dataclass
class Journey:
    service: str
    use: str | None
    request: dt.date
    steps: list[tuple[str, dt.date, dict[str, str]]]
    # promise id -> (working days, clock start from the events so far, fulfilling event)
    promises: dict[str, tuple[int, Callable[[dict[str, dt.date]], dt.date | None], str]]
    final_status: str
    form_events: dict[str, dt.date] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


APPOINTMENT = {"hospital_id": HOSPITAL, "appointment_date": "2026-05-13",
               "appointment_time": "09:30"}

JOURNEYS: dict[str, Journey] = {
    # across the 2026 Labour Day holiday (1-5 May) and its make-up working day
    "green_channel/outpatient": Journey(
        "green_channel", "outpatient", D(2026, 4, 29),
        [("identity_confirmed", D(2026, 4, 29), {}),
         ("records_complete", D(2026, 4, 30), {}),
         ("appointment_booked", D(2026, 5, 7), APPOINTMENT),
         ("completed", D(2026, 5, 13), {"note": "已按时就诊"})],
        {"outpatient_arranged": (5, latest("request"), "appointment_booked")},
        "completed"),
    # the inpatient clock starts at the later of the request and the admission slip
    "green_channel/inpatient": Journey(
        "green_channel", "inpatient", D(2026, 4, 27),
        [("identity_confirmed", D(2026, 4, 27), {}),
         ("records_complete", D(2026, 4, 28), {}),
         ("admission_slip_issued", D(2026, 4, 30), {}),
         ("appointment_booked", D(2026, 5, 12), APPOINTMENT),
         ("missed", D(2026, 5, 13), {"reason": "未按预约时间到院"})],
        {"inpatient_arranged": (10, latest("request", "admission_slip_issued"),
                                "appointment_booked")},
        "completed"),
    # the second-opinion clock starts when the records are complete
    "second_opinion": Journey(
        "second_opinion", None, D(2026, 9, 24),
        [("identity_confirmed", D(2026, 9, 25), {}),
         ("records_complete", D(2026, 9, 29), {}),
         ("report_issued", D(2026, 10, 14), {})],
        {"opinion_report": (10, latest("records_complete"), "report_issued")},
        "completed"),
    # the genetic-testing clock starts when the laboratory receives the sample
    "genetic_testing": Journey(
        "genetic_testing", None, D(2026, 2, 10),
        [("identity_confirmed", D(2026, 2, 10), {}),
         ("records_complete", D(2026, 2, 11), {}),
         ("sample_received", D(2026, 2, 13), {"sample_type": "pathology_slides"}),
         ("report_issued", D(2026, 3, 10), {})],
        {"lab_report": (15, latest("sample_received"), "report_issued")},
        "completed", details={"sample_type": "pathology_slides"}),
    # direct billing: the reply is due 3 working days after the request
    "direct_billing": Journey(
        "direct_billing", None, D(2026, 12, 29),
        [("identity_confirmed", D(2026, 12, 29), {}),
         ("records_complete", D(2026, 12, 30), {}),
         ("billing_accepted", D(2027, 1, 4), {}),
         ("admitted", D(2027, 1, 11), {}),
         ("completed", D(2027, 1, 20), {})],
        {"billing_reply": (3, latest("request"), "billing_accepted")},
        "completed", details={"admission_date": "2027-01-11"}),
}


def _hospital(app: Flask, service_id: str) -> str:
    with app.app_context():
        return get_rules().content.hospitals_in("beijing", service_id)[0].id


def _check_promises(app: Flask, journey: Journey, shown: dict[str, dict[str, Any]],
                    events: dict[str, dt.date]) -> None:
    assert set(shown) == set(journey.promises)
    for pid, (days, start_of, fulfil) in journey.promises.items():
        start = start_of(events)
        if start is None:
            assert shown[pid]["due"] is None, (pid, shown[pid])
            assert shown[pid]["outcome"] == "waiting"
            continue
        due = expected_due(app, start, days)
        assert shown[pid]["due"] == due, (pid, events)
        if fulfil in events:
            assert shown[pid]["outcome"] == ("kept" if events[fulfil] <= due else "late")


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_full_journey(name: str, app: Flask, staff: FlaskClient, clock: Clock,
                      make_request: Callable[..., str]) -> None:
    journey = JOURNEYS[name]
    clock.day = journey.request
    ref = make_request(journey.service, use_id=journey.use, request_date=journey.request,
                       events=journey.form_events, details=journey.details,
                       applicant_phone=APPLICANT_PHONE)
    events: dict[str, dt.date] = {"request": journey.request, **journey.form_events}
    doc = page(staff, ref)
    assert status_of(doc) == "open"
    _check_promises(app, journey, shown_promises(doc), events)
    assert done_steps(doc) == ["call"]

    for i, (event_id, day, fields) in enumerate(journey.steps):
        clock.day = day
        fields = {k: (_hospital(app, journey.service) if v == HOSPITAL else v)
                  for k, v in fields.items()}
        assert doc.select_one(f"#event-{event_id} form"), f"no form for {event_id}"
        response = post_event(staff, ref, event_id, day, **fields)
        assert response.status_code == 303, (event_id, response.status_code)
        events[event_id] = day
        doc = page(staff, ref)
        flash = doc.select_one("#flash").get_text()
        assert "已记录" in flash and day.isoformat() in flash
        _check_promises(app, journey, shown_promises(doc), events)
        # the new date is announced when this event started a clock
        for days, start_of, _f in journey.promises.values():
            start = start_of(events)
            if start == day and start_of({k: v for k, v in events.items() if k != event_id}) \
                    != start:
                assert expected_due(app, start, days).isoformat() in flash
        last = i == len(journey.steps) - 1
        assert status_of(doc) == (journey.final_status if last else "in_progress")
        # the step this event belongs to is done, and so is every step before it
        with app.app_context():
            flow = get_rules().content.service(journey.service).flow
        owner = next((k for k, st in enumerate(flow) if st.event == event_id), None)
        if owner is not None:
            assert done_steps(doc)[:owner + 1] == [st.id for st in flow[:owner + 1]]

    # at the end every step is done; a missed appointment completes the service (counts as
    # used) without the "attended" step
    doc = page(staff, ref)
    with app.app_context():
        service = get_rules().content.service(journey.service)
    all_steps = [s.id for s in service.flow]
    if "missed" in events:
        assert done_steps(doc) == all_steps[:-1]
    else:
        assert done_steps(doc) == all_steps
    # no form once the request is closed
    assert not doc.select("details.staff-event")

    # the audit trail holds every event, in order, by the staff member
    with app.app_context():
        with get_db().read_session() as s:
            req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
            rows = list(s.scalars(select(AuditLog).where(AuditLog.request_id == req.id)
                                  .order_by(AuditLog.id)))
            outbox = list(s.scalars(select(Outbox).where(Outbox.request_id == req.id)))
    assert rows[0].action == "request_created" and rows[0].actor == "applicant"
    recorded = [(r.details["event_id"], r.details["event_date"]) for r in rows
                if r.action == "event_recorded"]
    assert recorded == [(e, d.isoformat()) for e, d, _f in journey.steps]
    assert all(r.actor == STAFF for r in rows if r.action == "event_recorded")
    # the applicant (a family member here) is told of the submission and of every step that
    # matters to them
    assert len(outbox) == 1 + len([e for e, _d, _f in journey.steps if e != "admitted"])
    assert all(m.recipient_masked == "139****5678" for m in outbox)
    assert all(APPLICANT_PHONE not in m.body and "张三" not in m.body for m in outbox)


def test_missed_appointment_counts_as_used(app: Flask, staff: FlaskClient, clock: Clock,
                                           make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 6, 1)
    ref = make_request("green_channel", use_id="outpatient", request_date=clock.day)
    post_event(staff, ref, "appointment_booked", clock.day, hospital_id=_hospital(
        app, "green_channel"), appointment_date="2026-06-03", appointment_time="14:00")
    clock.day = D(2026, 6, 3)
    assert post_event(staff, ref, "missed", clock.day).status_code == 303
    doc = page(staff, ref)
    assert status_of(doc) == "completed"
    assert "视为已使用" in doc.select_one("#events").get_text()
    with app.app_context(), get_db().read_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
        missed = next(e for e in req.events if e.event_id == "missed")
        assert missed.details["counts_as_used"] is True
        body = s.scalars(select(Outbox.body).where(Outbox.request_id == req.id)
                         .order_by(Outbox.id.desc())).first()
    assert "视为已完成" in body


def test_no_sample_voids_the_genetic_test(app: Flask, staff: FlaskClient, clock: Clock,
                                          make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 6, 1)
    ref = make_request("genetic_testing", request_date=clock.day)
    clock.day = D(2026, 6, 15)
    assert post_event(staff, ref, "lapsed", clock.day,
                      reason="无法提供检测样本").status_code == 303
    doc = page(staff, ref)
    assert status_of(doc) == "lapsed"
    assert shown_promises(doc)["lab_report"] == {"due": None, "outcome": "void",
                                                 "urgency": None}
    # closed: a later event is refused and not stored
    response = post_event(staff, ref, "sample_received", clock.day,
                          sample_type="saliva")
    assert response.status_code == 303
    assert "已经结束" in page(staff, ref).select_one("#flash").get_text()
    assert "sample_received" not in [r["data-event"] for r in
                                     page(staff, ref).select("#events tr[data-event]")]


def test_direct_billing_declined_answers_the_promise(app: Flask, staff: FlaskClient,
                                                     clock: Clock,
                                                     make_request: Callable[..., str]) -> None:
    clock.day = D(2026, 9, 29)
    ref = make_request("direct_billing", request_date=clock.day)
    due = expected_due(app, clock.day, 3)
    clock.day = due
    response = post_event(staff, ref, "billing_declined", due)
    assert response.status_code == 422  # a reason is required
    assert "请填写原因" in response.text
    assert post_event(staff, ref, "billing_declined", due,
                      reason="所选医院不在直付合作范围").status_code == 303
    doc = page(staff, ref)
    assert status_of(doc) == "declined"
    assert shown_promises(doc)["billing_reply"]["outcome"] == "kept"
