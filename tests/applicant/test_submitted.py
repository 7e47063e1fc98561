"""The confirmation and status pages show what was submitted (issue 12): the service and use,
city and hospital, the dates given, the sample type and each uploaded file under the name the
applicant gave it (kept sanitised in `request_document.display_name`, escaped on the page,
shown to the applicant only); numbers masked only. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from flask import Flask
from sqlalchemy import select

from forms_app.storage import get_db
from forms_app.storage.models import RequestDocument
from forms_app.storage.requests import display_name
from service_rules.wording import chinese_date
from tests.support.forms import PDF, VALID_ID, VALID_PHONE, hidden, post_form, valid_data
from tests.support.staff import soup

ODD_NAME = "病理<b>报告&amp;\u202e.pdf"


def apply(app: Flask, rules: Any, service_id: str, **data: Any) -> tuple[Any, str]:
    client = app.test_client()
    page = client.get(f"/apply/{service_id}").get_data(as_text=True)
    tokens = {"csrf_token": hidden(page, "csrf_token"),
              "submission_token": hidden(page, "submission_token")}
    resp = post_form(client, service_id, tokens, {**valid_data(rules, service_id), **data})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    return client, resp.headers["Location"].rsplit("/", 1)[-1]


def facts(html: str) -> dict[str, str]:
    box = soup(html).select_one("#submitted")
    assert box is not None
    return {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True)
            for dt in box.select("dt")}


def test_the_confirmation_and_status_pages_show_what_was_submitted(any_app, rules) -> None:
    client, ref = apply(any_app, rules, "genetic_testing",
                        doc_pathology_report=(io.BytesIO(PDF), ODD_NAME))
    sample = rules.content.service("genetic_testing").samples[0]
    for path in (f"/apply/confirmation/{ref}", f"/status/{ref}"):
        html = client.get(path).get_data(as_text=True)
        shown = facts(html)
        assert shown.get("可以提供的检测样本") == sample.name, (path, shown)
        files = soup(html).select("#submitted-files li")
        assert len(files) == 1 and "病理报告" in files[0].get_text()
        # the name as chosen (invisible controls left out), escaped
        assert files[0].select_one(".app-filename").get_text() == "病理<b>报告&amp;.pdf"
        assert "<b>报告" not in html and "&lt;b&gt;报告&amp;amp;.pdf" in html
        assert "\u202e" not in html
        # numbers masked only
        assert VALID_ID not in html and VALID_PHONE not in html
    with any_app.app_context(), get_db().read_session() as s:
        assert s.scalar(select(RequestDocument.display_name)) == "病理<b>报告&amp;.pdf"
    # the genetic test asks for no city: none shown
    assert "就诊城市" not in facts(client.get(f"/status/{ref}").get_data(as_text=True))


def test_city_hospital_and_the_admission_date_are_shown(any_app, rules) -> None:
    data = valid_data(rules, "direct_billing")
    client, ref = apply(any_app, rules, "direct_billing")
    content = rules.content
    shown = facts(client.get(f"/apply/confirmation/{ref}").get_data(as_text=True))
    assert shown["就诊城市"] == content.city_by_id[data["city"]].name
    assert shown["医院"] == content.hospital_by_id[data["hospital"]].name
    assert shown["入院日期"] == chinese_date(dt.date.fromisoformat(data["admission_date"]))


def test_a_stranger_sees_none_of_it(any_app, rules) -> None:
    _client, ref = apply(any_app, rules, "second_opinion",
                         doc_pathology_report=(io.BytesIO(PDF), "我的病理报告.pdf"))
    stranger = any_app.test_client()
    for path in (f"/apply/confirmation/{ref}", f"/status/{ref}"):
        resp = stranger.get(path)
        assert resp.status_code == 303 and "我的病理报告" not in resp.get_data(as_text=True)


def test_display_names_are_sanitised() -> None:
    assert display_name(None) is None and display_name("") is None
    assert display_name("/tmp/x/scan.pdf") == display_name("C:\\x\\scan.pdf") == "scan.pdf"
    assert display_name("a\x00b\nc.pdf") == "abc.pdf"
    long = "报" * 100 + ".pdf"
    assert display_name(long) == long[-80:] and display_name(long).endswith(".pdf")
    assert display_name("\u200b\u202e") is None


def test_the_copy_of_ones_data_holds_each_files_name(any_app, rules) -> None:
    any_app.config["PUBLIC_BASE_URL"] = "https://fuwu.example.cn"  # a message with a link
    client, ref = apply(any_app, rules, "second_opinion",
                        doc_pathology_report=(io.BytesIO(PDF), "我的病理报告.pdf"))
    resp = client.get(f"/status/{ref}/copy")
    assert resp.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(resp.data)).read("data.json"))
    assert [d["name_as_chosen"] for d in data["documents"]] == ["我的病理报告.pdf"]
    # the links given out are listed (when, until when, stopped or not), never a token
    [link] = data["status_links"]
    assert sorted(link) == ["created_at", "expires_at", "revoked_at"]
    assert link["revoked_at"] is None
