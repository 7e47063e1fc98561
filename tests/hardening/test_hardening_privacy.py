"""No personal data in logs, URLs or error pages.

A request is made, looked up, refused, re-shown and too large against the real server
(gunicorn) with every Python logger in the workers at DEBUG (app, Flask, SQLAlchemy,
Flask-Limiter, ...) and gunicorn's access and error logs at debug; then every line of every
log is searched for the insured's name, ID number and phone (also URL-encoded)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from forms_app.storage.database import Database, make_engine
from forms_app.storage.models import AuditLog, Outbox
from tests.support.gunicorn_harness import (
    SUBMIT_PATH,
    Client,
    GunicornServer,
    csrf_token,
    encode_multipart,
    reference_from,
    second_opinion_submission,
    shanghai_today,
)

NAME = "隐私测试员"
DEBUG_LOGGING = '''
def post_worker_init(worker):
    import logging
    handler = logging.FileHandler({path!r}, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # as an operator chasing a problem would: every SQL statement logged
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
'''


def needles(*values: str) -> list[str]:
    out = []
    for v in values:
        out += [v, quote(v), quote_plus(v), quote(v).lower()]
    return sorted(set(out))


@pytest.mark.slow
def test_no_personal_data_in_any_log_line(tmp_path: Path) -> None:
    app_log = tmp_path / "python-debug.log"
    config = tmp_path / "debug_logging.py"
    config.write_text(DEBUG_LOGGING.format(path=str(app_log)))
    server = GunicornServer(tmp_path, workers=2, config_file=config, log_level="debug",
                            rate_limits=True, env={"STATUS_RATE_LIMIT": "3 per minute",
                                                   "MAX_CONTENT_LENGTH": str(1024 * 1024)})
    with server:
        client = Client(server.base_url)
        token = csrf_token(client.get(SUBMIT_PATH)[2])
        sub = second_opinion_submission(token, name=NAME)
        # 1. a request, its confirmation and calendar file
        status, headers, _b = client.post_multipart(SUBMIT_PATH, sub.fields, sub.files)
        ref = reference_from(status, headers)
        assert ref
        assert client.get(headers["location"])[0] == 200
        assert client.get(f"/apply/confirmation/{ref}.ics")[0] == 200
        # 2. status lookups: right pair, wrong pair, then rate-limited
        page = client.get("/status/")[2]
        form = {"csrf_token": csrf_token(page), "reference": ref, "last4": sub.id_number[-4:]}
        found = client.post_form("/status/", form)
        assert found[0] == 303 and client.get(found[1]["location"])[0] == 200
        assert client.post_form("/status/", {**form, "last4": "0000"})[0] == 404
        # memory:// counts per worker: 2 workers x 3 per minute, then 429
        codes = [client.post_form("/status/", form)[0] for _ in range(6)]
        assert 429 in codes
        # 3. the same person refused (already used), re-shown with an error, without CSRF
        token = csrf_token(client.get(SUBMIT_PATH)[2])
        again = [(k, token if k == "csrf_token" else
                  ("again-" + v if k == "submission_token" else v)) for k, v in sub.fields]
        assert client.post_multipart(SUBMIT_PATH, again, sub.files)[0] == 422
        future = (shanghai_today() + dt.timedelta(days=30)).isoformat()
        bad = [(k, future if k == "diagnosis_date" else v) for k, v in again]
        assert client.post_multipart(SUBMIT_PATH, bad, sub.files)[0] == 422
        no_csrf = [(k, v) for k, v in again if k != "csrf_token"]
        assert client.post_multipart(SUBMIT_PATH, no_csrf, sub.files)[0] == 400
        # 4. too large (the personal data comes first in the body)
        body, ctype = encode_multipart(again, [("doc_pathology_report", "big.pdf",
                                                b"%PDF-" + b"0" * (2 * 1024 * 1024),
                                                "application/pdf")])
        status, _h, page = client.request("POST", SUBMIT_PATH, body, {"Content-Type": ctype})
        assert status == 413
        for text_page in (page,):
            assert sub.id_number.encode() not in text_page
        # 5. the staff sign-in with the ID number typed as a user name
        token = csrf_token(client.get("/staff/login")[2])
        assert client.post_form("/staff/login", {"csrf_token": token, "username": sub.id_number,
                                                 "password": sub.phone * 2})[0] == 401
    logs = sorted(p for p in tmp_path.iterdir() if p.suffix == ".log")
    assert {p.name for p in logs} >= {"gunicorn-access.log", "gunicorn-error.log",
                                      "python-debug.log"}
    lines = [(p.name, line) for p in logs
             for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]
    assert any(ref in line for _n, line in lines)  # the logs do record the request
    assert any("sqlalchemy" in line for _n, line in lines)  # SQL logging was on
    leaks = [(name, line[:200]) for name, line in lines
             for needle in needles(NAME, sub.id_number, sub.phone) if needle in line]
    assert leaks == []

    # the audit log and the outbox hold masked values only
    db = Database(str(server.database_url))
    try:
        with db.read_session() as s:
            stored = [str(a.details) for a in s.scalars(select(AuditLog))]
            stored += [str(o.body) + str(o.recipient_masked) for o in s.scalars(select(Outbox))]
    finally:
        db.dispose()
    assert not [x for x in stored if sub.id_number in x or sub.phone in x]


def test_sql_errors_never_show_their_values(tmp_path: Path) -> None:
    """What Flask logs for an unexpected database error is the exception's text: it must not
    carry the statement's values."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    secret = "11010519491231002X"
    with engine.connect() as conn:
        with pytest.raises(StatementError) as info:
            conn.execute(text("INSERT INTO no_such_table VALUES (:v)"), {"v": secret})
    assert secret not in str(info.value)
    engine.dispose()
