"""Nothing chosen is lost on a failed submit: files that passed their checks are kept
(encrypted) for the retry, used only by the browser that chose them, and swept when abandoned."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from pathlib import Path

from sqlalchemy import select

from forms_app.storage.models import RequestDocument
from tests.support.forms import PDF, hidden, post_form, valid_data


def with_scan(data: dict) -> dict:
    """Second-opinion answers with the pathology report attached (optional on that form)."""
    return {**data, "doc_pathology_report": (io.BytesIO(PDF), "pathology_report.pdf")}


def kept_refs(html: str) -> list[tuple[str, str]]:
    return re.findall(r'name="(kept_[a-z_]+)" value="([0-9a-f]+)"', html)


def test_files_are_kept_for_the_retry(app, client, rules) -> None:
    data = with_scan(valid_data(rules, "second_opinion"))
    data["id_number"] = "110105194912310021"  # wrong check character
    page = client.get("/apply/second_opinion").get_data(as_text=True)
    tokens = {"csrf_token": hidden(page, "csrf_token"),
              "submission_token": hidden(page, "submission_token")}
    first = post_form(client, "second_opinion", tokens, data)
    html = first.get_data(as_text=True)
    assert first.status_code == 422
    assert "已保留：pathology_report.pdf" in html and 'id="files-kept"' in html
    refs = kept_refs(html)
    assert [name for name, _ref in refs] == ["kept_pathology_report"]
    pending = Path(app.config["UPLOAD_DIR"]) / "pending"
    stored = list(pending.iterdir())
    assert len(stored) == 1 and PDF not in stored[0].read_bytes()  # encrypted at rest

    retry = {k: v for k, v in valid_data(rules, "second_opinion").items()
             if not k.startswith("doc_")}
    body = {**tokens, **retry, refs[0][0]: refs[0][1]}
    second = client.post("/apply/second_opinion", data=body,
                         content_type="multipart/form-data")
    assert second.status_code == 303
    with app.extensions["forms_db"].read_session() as s:
        [doc] = list(s.scalars(select(RequestDocument)))
    assert doc.sha256 == hashlib.sha256(PDF).hexdigest()
    assert list(pending.iterdir()) == []  # used, then removed


def test_a_kept_file_is_only_for_the_browser_that_chose_it(app, client, rules) -> None:
    data = with_scan(valid_data(rules, "second_opinion"))
    data["phone"] = "12345"
    page = client.get("/apply/second_opinion").get_data(as_text=True)
    first = post_form(client, "second_opinion", {"csrf_token": hidden(page, "csrf_token"),
                                                 "submission_token": "a" * 20}, data)
    [(field, ref)] = kept_refs(first.get_data(as_text=True))
    other = app.test_client()
    other_page = other.get("/apply/second_opinion").get_data(as_text=True)
    retry = {k: v for k, v in valid_data(rules, "second_opinion").items()
             if not k.startswith("doc_")}
    resp = other.post("/apply/second_opinion", content_type="multipart/form-data", data={
        "csrf_token": hidden(other_page, "csrf_token"),
        "submission_token": hidden(other_page, "submission_token"), **retry, field: ref})
    assert resp.status_code == 303  # the form is complete without the optional scan...
    with app.extensions["forms_db"].read_session() as s:
        assert list(s.scalars(select(RequestDocument))) == []  # ...which it did not get


def test_abandoned_kept_files_are_swept(app, client, rules) -> None:
    data = with_scan(valid_data(rules, "second_opinion"))
    data["phone"] = "12345"
    page = client.get("/apply/second_opinion").get_data(as_text=True)
    post_form(client, "second_opinion", {"csrf_token": hidden(page, "csrf_token"),
                                         "submission_token": "b" * 20}, data)
    pending = Path(app.config["UPLOAD_DIR"]) / "pending"
    [path] = list(pending.iterdir())
    old = time.time() - 2 * 24 * 3600
    os.utime(path, (old, old))
    result = app.test_cli_runner().invoke(args=["sweep-uploads"])
    assert result.exit_code == 0 and "1 files kept for abandoned forms" in result.output
    assert list(pending.iterdir()) == []
