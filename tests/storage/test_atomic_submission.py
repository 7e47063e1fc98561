"""A submission's rows commit together or not at all, on SQLite (one write transaction) and on
PostgreSQL (one statement): a failing document row leaves no request, event or audit row
behind, and the files written for it are removed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forms_app.storage import requests as store_module
from forms_app.storage.files import StoredFile
from forms_app.storage.models import AuditLog, RequestDocument, RequestEvent, ServiceRequest
from forms_app.storage.requests import create_request
from tests.support.storage import count, new_request, parts


def test_a_failing_row_leaves_nothing_behind(any_app, rules, monkeypatch):
    db, crypto, upload_dir = parts(any_app)
    create_request(db, crypto, upload_dir, new_request(rules, token="first"))
    session = db.read_session()
    taken = session.scalars(select(RequestDocument.stored_name)).one()
    session.close()
    before = {m: count(db, m) for m in (ServiceRequest, RequestEvent, RequestDocument,
                                        AuditLog)}
    files_before = set(upload_dir.iterdir())

    real_store = store_module.store
    written: list[StoredFile] = []

    def store_under_a_taken_name(directory, crypto_, data):
        # the file is written, but its row will break the unique stored_name: the
        # request's insert fails after the request row itself went in
        stored = real_store(directory, crypto_, data)
        written.append(stored)
        return StoredFile(taken, stored.path)

    monkeypatch.setattr(store_module, "store", store_under_a_taken_name)
    with pytest.raises(IntegrityError):
        create_request(db, crypto, upload_dir, new_request(rules, token="second",
                                                           use_id="inpatient"))
    after = {m: count(db, m) for m in before}
    assert after == before
    assert written and not any(s.path.exists() for s in written)
    assert set(upload_dir.iterdir()) == files_before
