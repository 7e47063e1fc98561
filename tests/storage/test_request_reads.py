"""The applicant pages' Core read path (`load_summary`, the parsed-snapshot cache) and the
one-statement check before a submission (`precheck`), on SQLite and PostgreSQL: they must give
exactly what the ORM gives."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from forms_app.storage.models import RequestEvent, ServiceRequest
from forms_app.storage.requests import (
    create_request,
    load_summary,
    policy_year_start,
    precheck,
    summary_of,
)
from service_rules.promises import compute_promises
from tests.support.forms import make_id
from tests.support.storage import new_request, parts


def test_summary_matches_the_orm_request_with_every_event(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    ref, _ = create_request(db, crypto, upload_dir, new_request(rules))
    today = dt.date.today()
    with db.write_session() as s:
        req = s.scalars(select(ServiceRequest).where(ServiceRequest.reference == ref)).one()
        # two dates of one event (a correction) and another event, recorded out of order
        for event_id, day in (("appointment_booked", today), ("identity_confirmed", today),
                              ("appointment_booked", today - dt.timedelta(days=2))):
            s.add(RequestEvent(request_id=req.id, event_id=event_id, event_date=day,
                               recorded_by="staff-a", details={}))
    summary = load_summary(db, ref)
    session = db.read_session()
    orm = summary_of(session.scalars(
        select(ServiceRequest).where(ServiceRequest.reference == ref)).one())
    session.close()
    assert summary is not None
    assert summary.events == orm.events and len(summary.events) == 4
    assert summary.event_dates() == orm.event_dates()
    assert summary.event_dates()["appointment_booked"] == today  # the latest date counts
    assert summary.request_date == orm.request_date == new_request(rules).request_date
    assert summary.created_at == orm.created_at and summary.created_at.tzinfo is not None
    for name in ("reference", "service_id", "use_id", "status", "insured_name",
                 "id_number_masked", "phone_masked", "id_last4_hash"):
        assert getattr(summary, name) == getattr(orm, name), name
    assert "张三" == summary.insured_name and "*" in summary.id_number_masked
    assert summary.snapshot.data == orm.snapshot.data
    events = summary.event_dates()
    assert ([p.as_dict() for p in compute_promises(rules.calendar, summary.snapshot,
                                                   summary.use_id, events)]
            == [p.as_dict() for p in compute_promises(rules.calendar, dict(orm.snapshot.data),
                                                      orm.use_id, events)])
    assert load_summary(db, "XXXX2345") is None


def test_a_stored_snapshot_is_parsed_once_per_process(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    first, _ = create_request(db, crypto, upload_dir, new_request(rules, token="t-1"))
    second, _ = create_request(db, crypto, upload_dir,
                               new_request(rules, token="t-2", use_id="inpatient"))
    a, b, again = load_summary(db, first), load_summary(db, second), load_summary(db, first)
    assert a is not None and b is not None and again is not None
    assert a.snapshot is b.snapshot is again.snapshot  # same service, same content version
    assert a.snapshot.service.id == "green_channel"


def test_precheck_finds_the_same_form_and_a_used_service(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    new = new_request(rules, token="form-1")
    year_start = policy_year_start(new.policy_effective, new.request_date)
    ask = {"policy_number": new.policy_number, "id_number": new.id_number,
           "use_id": new.use_id, "year_start": year_start}
    with db.engine.connect() as conn:
        assert precheck(conn, crypto, token="form-1", **ask) == (None, set())
    ref, _ = create_request(db, crypto, upload_dir, new)
    with db.engine.connect() as conn:
        assert precheck(conn, crypto, token="form-1", **ask) == (ref, {"outpatient"})
        assert precheck(conn, crypto, token="form-2", **ask) == (None, {"outpatient"})
        assert precheck(conn, crypto, token="form-2",
                        **{**ask, "use_id": "inpatient"}) == (None, set())
        assert precheck(conn, crypto, token="form-2",
                        **{**ask, "id_number": make_id("11010519800101003")}) == (None, set())
