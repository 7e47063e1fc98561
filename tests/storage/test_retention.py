"""Retention and deletion (issue 14): after `apply-retention` no trace of the insured's name, ID
number, phones or file remains in the SQLite file (read as bytes, with its WAL), the upload
folder or PostgreSQL's tables; reports still count the deleted requests; a request not yet due
keeps its data; several hosts running the job at once delete each request once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from forms_app.content import get_rules
from forms_app.storage import get_db
from forms_app.storage.casework import load_requests, outcomes_of, record_event
from forms_app.storage.database import Database
from forms_app.storage.models import AuditLog, RequestDocument, ServiceRequest
from forms_app.storage.retention import apply_retention
from service_rules.retention import DELETED_RETENTION, DELETED_WITHDRAWN
from tests.support.privacy import make_request, person, table_texts
from tests.support.staff import add_staff, sign_in

D = dt.date
TABLES = ["service_request", "request_event", "request_document", "audit_log", "outbox",
          "service_snapshot", "staff_user"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, make_app) -> Flask:  # type: ignore[no-untyped-def]
    """The app on SQLite and PostgreSQL, with the console's CSRF and limits off (they have
    tests of their own) so staff pages can be posted directly."""
    config = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
    if request.param == "postgres":
        config["DATABASE_URL"] = request.getfixturevalue("pg_schema_url")
    return make_app(**config)


def _close(app: Flask, reference: str, day: D, note: str) -> None:
    """Staff end the request (lapsed) with a note that names the insured: free text too."""
    with app.app_context():
        record_event(get_db(), get_rules(), reference, "lapsed", day,
                     {"reason": "无法提供资料", "note": note}, "wang.fang")


def _report(app: Flask, today: D) -> list[tuple[str, str | None, str, str | None, str]]:
    """What the staff reports count: per request and promise, its service, city and outcome."""
    with app.app_context():
        rules = get_rules()
        return sorted((r.reference, r.city_id, r.service_id, o.state.promise_id, o.outcome)
                      for r in load_requests(get_db()) for o in outcomes_of(rules, r, today))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_retention_job_leaves_no_trace_and_reports_still_count(any_app: Flask) -> None:
    app = any_app
    add_staff(app)
    gone, kept = person(1), person(2)
    old = make_request(app, gone, request_date=D(2022, 1, 10))
    recent = make_request(app, kept, request_date=D(2023, 6, 1))
    _close(app, old, D(2022, 1, 12), f"{gone.name}家属来电 {gone.phone}")
    _close(app, recent, D(2023, 6, 2), f"{kept.name}家属来电")
    # a staff member looks at the old request and reveals the phone (masked in the log)
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    assert staff.get(f"/staff/requests/{old}").status_code == 200
    revealed = staff.post(f"/staff/requests/{old}/reveal", data={"field": "phone"})
    assert revealed.status_code == 200 and gone.phone in revealed.text
    upload = Path(app.config["UPLOAD_DIR"])
    before_files = _files(upload)
    assert len(before_files) == 2
    report_before = _report(app, D(2025, 1, 12))

    app.config["TODAY"] = D(2025, 1, 12)  # three years after the old request ended
    result = app.test_cli_runner().invoke(args=["apply-retention"])
    assert result.exit_code == 0, result.output
    assert "deleted 1" in result.output

    # reports count both requests exactly as before
    assert _report(app, D(2025, 1, 12)) == report_before
    with app.app_context():
        db = get_db()
        with db.read_session() as s:
            row = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == old))
            assert row.personal_data_deleted_at is not None
            assert row.deletion_reason == DELETED_RETENTION
            assert (row.insured_name, row.id_number_enc, row.phone_enc, row.applicant_name) \
                == ("", "", "", None)
            assert row.service_id == "second_opinion" and row.city_id == "beijing"
            assert s.scalar(select(func.count()).select_from(RequestDocument)
                            .where(RequestDocument.request_id == row.id)) == 0
            entry = s.scalar(select(AuditLog).where(AuditLog.action == "personal_data_deleted"))
            assert entry.details["reference"] == old and entry.details["files"] == 1
        # nothing of the deleted insured anywhere; the kept insured's data untouched
        if db.is_sqlite:
            path = Path(db.engine.url.database)
            stored = path.read_bytes()
            wal = Path(f"{path}-wal")
            stored += wal.read_bytes() if wal.exists() else b""
        else:
            with db.engine.connect() as conn:
                stored = table_texts(conn, TABLES).encode()
    for what, trace in gone.traces().items():
        if what == "file":
            continue
        assert trace not in stored, what
    assert kept.name.encode() in stored
    after_files = _files(upload)
    assert len(after_files) == 1
    gone_file = [n for n in before_files if n not in after_files]
    assert len(gone_file) == 1 and not (upload / gone_file[0]).exists()
    for data in after_files.values():
        assert before_files[gone_file[0]] not in data
    # the deleted request's status page has nothing to show, and staff cannot reveal anything
    page = staff.get(f"/staff/requests/{old}")
    assert page.status_code == 200 and 'data-privacy="deleted"' in page.text
    assert gone.name not in page.text
    assert staff.post(f"/staff/requests/{old}/reveal", data={"field": "phone"}).status_code \
        == 303
    # running again deletes nothing more
    again = app.test_cli_runner().invoke(args=["apply-retention"])
    assert "deleted 0" in again.output


def test_the_sqlite_file_holds_no_trace_after_deletion(make_app) -> None:  # type: ignore[no-untyped-def]
    """The same search on SQLite with many rewrites of the row first (status updates), so
    freed space in the page is what is checked: secure_delete zeroes it."""
    app = make_app()
    who = person(7)
    ref = make_request(app, who, request_date=D(2022, 1, 10))
    with app.app_context():
        for day, event in ((D(2022, 1, 11), "identity_confirmed"),
                           (D(2022, 1, 12), "records_complete")):
            record_event(get_db(), get_rules(), ref, event, day, {"note": who.name}, "wang.fang")
    _close(app, ref, D(2022, 1, 13), who.name)
    with app.app_context():
        report = apply_retention(get_db(), Path(app.config["UPLOAD_DIR"]),
                                 get_rules().content.privacy_file.retention, D(2025, 1, 13))
        assert report.deleted == [ref] and report.wal_truncated is True
        path = Path(get_db().engine.url.database)
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    for what, trace in who.traces().items():
        assert trace not in data, what


def test_withdrawn_requests_are_deleted_after_the_grace_period(make_app) -> None:  # type: ignore[no-untyped-def]
    from forms_app.storage.withdrawal import withdraw

    app = make_app()
    who = person(8)
    ref = make_request(app, who, request_date=D(2026, 3, 2))
    with app.app_context():
        withdraw(get_db(), ref, "request", D(2026, 3, 2))
        settings = get_rules().content.privacy_file.retention
        grace = settings.withdrawn_grace_days
        # withdrawn_at is now (UTC): the grace period counts from its Beijing date
        with get_db().read_session() as s:
            at = s.scalar(select(ServiceRequest.withdrawn_at))
        start = (at + dt.timedelta(hours=8)).date()
        early = apply_retention(get_db(), Path(app.config["UPLOAD_DIR"]), settings,
                                start + dt.timedelta(days=grace - 1))
        assert early.deleted == []
        done = apply_retention(get_db(), Path(app.config["UPLOAD_DIR"]), settings,
                               start + dt.timedelta(days=grace))
        assert done.deleted == [ref]
        with get_db().read_session() as s:
            assert s.scalar(select(ServiceRequest.deletion_reason)) == DELETED_WITHDRAWN


def _run_hosts(url: str, upload: Path, settings, today: D, hosts: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """`hosts` instances of the job at once, each with its own engine (its own host)."""
    results: list[list[str]] = [[] for _ in range(hosts)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(hosts)

    def host(i: int) -> None:
        db = Database(url)
        try:
            barrier.wait()
            results[i] = apply_retention(db, upload, settings, today).deleted
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=host, args=(i,)) for i in range(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_several_hosts_at_once_delete_each_request_once(any_app: Flask) -> None:
    app = any_app
    refs = []
    for n in range(12):
        ref = make_request(app, person(20 + n), request_date=D(2022, 1, 10))
        _close(app, ref, D(2022, 1, 12), "结束")
        refs.append(ref)
    with app.app_context():
        url = get_db().url
        settings = get_rules().content.privacy_file.retention
    results = _run_hosts(url, Path(app.config["UPLOAD_DIR"]), settings, D(2025, 6, 1), 3)
    deleted = [r for host in results for r in host]
    assert sorted(deleted) == sorted(refs)          # every request, each by one host only
    with app.app_context(), get_db().read_session() as s:
        audited = s.scalars(select(AuditLog.details)
                            .where(AuditLog.action == "personal_data_deleted")).all()
        assert sorted(d["reference"] for d in audited) == sorted(refs)
    assert _files(Path(app.config["UPLOAD_DIR"])) == {}


@pytest.mark.parametrize("hosts", [2])
def test_a_locked_request_is_skipped_not_waited_for(any_app: Flask, hosts: int) -> None:
    """PostgreSQL: a request another host holds locked is skipped (SKIP LOCKED) and done on
    the next run; SQLite: the second writer waits its turn and finds it already done."""
    app = any_app
    ref = make_request(app, person(40), request_date=D(2022, 1, 10))
    _close(app, ref, D(2022, 1, 12), "结束")
    with app.app_context():
        db = get_db()
        settings = get_rules().content.privacy_file.retention
        if db.is_sqlite:
            pytest.skip("SQLite has one writer at a time: covered by the test above")
        other = Database(db.url)
        try:
            with other.write_session() as s:
                s.scalar(select(ServiceRequest.id).where(ServiceRequest.reference == ref)
                         .with_for_update())
                report = apply_retention(db, Path(app.config["UPLOAD_DIR"]), settings,
                                         D(2025, 6, 1))
                assert report.deleted == [] and report.skipped == 1
        finally:
            other.dispose()
        report = apply_retention(db, Path(app.config["UPLOAD_DIR"]), settings, D(2025, 6, 1))
        assert report.deleted == [ref]
