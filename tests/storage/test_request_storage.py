"""Storage on SQLite and PostgreSQL: migrations, idempotent submission (also concurrent),
reference collisions, "already used", encryption at rest, status pairs, old requests keeping
their promises after a content change."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import inspect, select

from forms_app.storage.database import Database
from forms_app.storage.files import read
from forms_app.storage.models import (
    AuditLog,
    RequestDocument,
    ServiceRequest,
)
from forms_app.storage.requests import (
    check_status_pair,
    create_request,
    precheck,
)
from service_rules.deadlines import promise_due, shanghai_today
from service_rules.promises import compute_promises, snapshot_service
from service_rules.workflow import STATUS_LAPSED
from tests.support.forms import PDF, VALID_ID, make_id
from tests.support.storage import count, new_request, parts


def test_a_fresh_sqlite_database_is_migrated_at_start(make_app):
    """Most tests start from a copy of a migrated template; this one runs the migrations."""
    app = make_app(AUTO_MIGRATE=True)
    db = app.extensions["forms_db"]
    tables = set(inspect(db.engine).get_table_names())
    assert {"service_request", "request_document", "request_event", "audit_log", "outbox",
            "staff_user", "service_snapshot", "alembic_version"} <= tables


def test_migrations_create_every_table(any_app):
    db, _c, _u = parts(any_app)
    tables = set(inspect(db.engine).get_table_names())
    assert {"service_request", "request_document", "request_event", "audit_log", "outbox",
            "alembic_version"} <= tables
    db.upgrade()  # running again is a no-op


def test_sqlite_is_durable_and_concurrent(app):
    db = app.extensions["forms_db"]
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_create_request_is_idempotent_and_encrypted(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    ref, created = create_request(db, crypto, upload_dir, new_request(rules))
    ref2, created2 = create_request(db, crypto, upload_dir, new_request(rules))
    assert created and not created2 and ref == ref2
    assert count(db, ServiceRequest) == 1 and count(db, RequestDocument) == 1
    assert count(db, AuditLog) == 1
    assert len(list(upload_dir.iterdir())) == 1
    session = db.read_session()
    req = session.scalars(select(ServiceRequest)).one()
    assert VALID_ID not in req.id_number_enc and crypto.decrypt_text(req.id_number_enc) == VALID_ID
    assert req.created_at.tzinfo is not None
    assert req.details == {"note": "测试"}
    doc = req.documents[0]
    assert read(upload_dir, crypto, doc.stored_name) == PDF
    assert (upload_dir / doc.stored_name).read_bytes() != PDF
    session.close()


def test_concurrent_double_submit_creates_one_request(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(create_request(db, crypto, upload_dir, new_request(rules, "same")))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({ref for ref, _ in results}) == 1
    assert sum(created for _ref, created in results) == 1
    assert count(db, ServiceRequest) == 1
    assert len(list(upload_dir.iterdir())) == 1  # the losers' files are removed


def test_reference_collision_draws_again(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    draws = iter(["ABCD2345", "ABCD2345", "WXYZ6789"])
    first, _ = create_request(db, crypto, upload_dir, new_request(rules, "a"),
                              make_reference=lambda: next(draws))
    second, _ = create_request(db, crypto, upload_dir, new_request(rules, "b"),
                               make_reference=lambda: next(draws))
    assert (first, second) == ("ABCD2345", "WXYZ6789")


def test_used_in_same_policy_year_unless_lapsed(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    new = new_request(rules)
    create_request(db, crypto, upload_dir, new)
    session = db.read_session()
    req = session.scalars(select(ServiceRequest)).one()
    session.close()
    kwargs = {"policy_number": "P-1", "id_number": VALID_ID, "use_id": "outpatient",
              "year_start": req.policy_year_start}

    def used(**ask) -> set[str]:
        with db.read_connection() as conn:
            return precheck(conn, crypto, token="another-form", **{**kwargs, **ask})[1]

    assert used() == {"outpatient"}
    assert used(use_id="inpatient") == set()
    assert used(year_start=dt.date(2000, 1, 1)) == set()
    with db.write_session() as s:
        s.scalars(select(ServiceRequest)).one().status = STATUS_LAPSED
    assert used() == set()


def test_status_pair_same_answer_for_wrong_reference_and_wrong_pair(any_app, rules):
    db, crypto, upload_dir = parts(any_app)
    ref, _ = create_request(db, crypto, upload_dir, new_request(rules))
    assert check_status_pair(db, crypto, ref, VALID_ID[-4:]).reference == ref
    assert check_status_pair(db, crypto, ref, VALID_ID[-4:].lower()).reference == ref
    assert check_status_pair(db, crypto, ref, "0000") is None
    assert check_status_pair(db, crypto, "XXXX2345", VALID_ID[-4:]) is None


def test_old_request_keeps_its_promise_after_a_content_change(any_app, rules, content_copy,
                                                             tmp_path):
    db, crypto, upload_dir = parts(any_app)
    ref, _ = create_request(db, crypto, upload_dir, new_request(rules))
    path = content_copy / "services.yaml"
    text = path.read_text(encoding="utf-8")
    old = "      - id: outpatient_arranged\n        use: outpatient\n        working_days: 5"
    assert text.count(old) == 1
    text = text.replace(old, old[:-1] + "8")
    # texts that state the outpatient promise in words must say the same (the check enforces it)
    text = text.replace("门诊在客户预约申请后5个工作日内", "门诊在客户预约申请后8个工作日内")
    path.write_text(text, encoding="utf-8")
    from service_rules import load_rules

    changed = load_rules(content_copy)
    assert changed.content.version != rules.content.version
    session = db.read_session()
    req = session.scalars(select(ServiceRequest).where(ServiceRequest.reference == ref)).one()
    today = shanghai_today()
    kept = compute_promises(changed.calendar, req.service_snapshot, req.use_id,
                            req.event_dates())
    promise = rules.content.service("green_channel").promise("outpatient_arranged")
    expected = promise_due(rules.calendar, rules.content, promise, {"request": today})
    assert kept[0].deadline.date == expected.date and kept[0].deadline.working_days == 5
    # a new request follows the new content
    fresh = compute_promises(changed.calendar,
                             snapshot_service(changed.content, "green_channel"),
                             "outpatient", {"request": today})
    assert fresh[0].deadline.working_days == 8
    assert req.content_version == rules.content.version
    session.close()


@pytest.mark.postgres
def test_postgres_fixture_uses_a_private_schema(pg_schema_url):
    db = Database(pg_schema_url)
    db.upgrade()
    with db.engine.connect() as conn:
        schema = conn.exec_driver_sql("select current_schema()").scalar()
    assert schema.startswith("t_")
    db.dispose()


def test_every_service_through_the_app_on_both_databases(any_app, rules):
    """The whole request path (form -> storage -> confirmation -> status) on each database."""
    from tests.support.forms import hidden, post_form, valid_data

    client = any_app.test_client()
    for service in rules.content.services:
        html = client.get(f"/apply/{service.id}").get_data(as_text=True)
        tokens = {"csrf_token": hidden(html, "csrf_token"),
                  "submission_token": hidden(html, "submission_token")}
        data = valid_data(rules, service.id)
        first = post_form(client, service.id, tokens, data)
        again = post_form(client, service.id, tokens, data)
        assert first.status_code == again.status_code == 303
        assert first.headers["Location"] == again.headers["Location"]
        assert client.get(first.headers["Location"]).status_code == 200
    assert count(any_app.extensions["forms_db"], ServiceRequest) == len(rules.content.services)


def test_key_rotation_and_upload_sweep(app, rules, tmp_path):
    """The README's rotation on files of every kind: a legacy Fernet file (written before
    files moved to AES-GCM), a GCM file under the old key and one under the new key all read
    while both keys are set; rotate-keys rewrites each in the GCM format under the new key;
    after the old key is dropped everything still reads, and the old key alone reads nothing."""
    import os
    import time

    from forms_app.storage.crypto import FILE_MAGIC, Crypto, InvalidToken, new_key

    db, crypto, upload_dir = parts(app)
    create_request(db, crypto, upload_dir, new_request(rules))
    (legacy_name,) = (p.name for p in upload_dir.iterdir())
    create_request(db, crypto, upload_dir, new_request(rules, "tok-2"))
    # an install upgraded from an earlier version has files stored as plain Fernet tokens
    (upload_dir / legacy_name).write_bytes(crypto.encrypt(PDF))
    old_key = app.config["DATA_KEY"]
    fresh = new_key()
    rotated = Crypto(f"{fresh},{old_key}", app.config["HASH_KEY"])
    app.extensions["forms_crypto"] = rotated
    create_request(db, rotated, upload_dir, new_request(
        rules, "tok-3", id_number=make_id("11010519800101001")))
    only_old = Crypto(old_key, app.config["HASH_KEY"])
    only_new = Crypto(fresh, app.config["HASH_KEY"])

    def stored() -> dict[str, bytes]:
        session = db.read_session()
        names = list(session.scalars(select(RequestDocument.stored_name)))
        session.close()
        return {name: (upload_dir / name).read_bytes() for name in names}

    def reads(crypto: Crypto, name: str, blob: bytes) -> bool:
        try:
            return crypto.decrypt_file(blob, name) == PDF
        except InvalidToken:
            return False

    before = stored()
    assert len(before) == 3 and before[legacy_name].startswith(b"gAAAAA")
    assert sum(blob.startswith(FILE_MAGIC) for blob in before.values()) == 2
    # new key in front: every kind still reads, and the new file is under the new key
    assert all(read(upload_dir, rotated, name) == PDF for name in before)
    assert sum(reads(only_old, name, blob) for name, blob in before.items()) == 2

    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "3 requests and 3 files" in result.output
    after = stored()
    for name, blob in after.items():
        assert blob.startswith(FILE_MAGIC) and blob != before[name]
        assert read(upload_dir, only_new, name) == PDF
        with pytest.raises(InvalidToken):
            only_old.decrypt_file(blob, name)
    session = db.read_session()
    for req in session.scalars(select(ServiceRequest)):
        assert only_new.decrypt_text(req.id_number_enc) in (VALID_ID, make_id("11010519800101001"))
    session.close()
    # safe to re-run
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "3 requests and 3 files" in result.output
    assert all(read(upload_dir, only_new, name) == PDF for name in after)
    assert all(p.name.isalnum() for p in upload_dir.iterdir())  # no temporary files left

    orphan = upload_dir / "0123456789abcdef0123456789abcdef"
    orphan.write_bytes(b"left by a crash")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    result = app.test_cli_runner().invoke(args=["sweep-uploads"])
    assert result.exit_code == 0 and "removed 1" in result.output
    assert not orphan.exists() and len(list(upload_dir.iterdir())) == 3
