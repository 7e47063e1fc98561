"""The request forms through Flask's test client: every service end to end, bad input at every
field, eligibility refusals, CSRF expiry, size limits, idempotency, who sees a confirmation."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from forms_app.applicant.forms import OTHER_CITY, form_class, starting_event_fields
from forms_app.storage.models import RequestDocument, RequestEvent, ServiceRequest
from service_rules.deadlines import (
    add_working_days,
    earliest_admission,
    promise_due,
    shanghai_today,
)
from service_rules.identity import REFERENCE_ALPHABET
from tests.support.forms import (
    JPEG,
    PDF,
    PNG,
    VALID_ID,
    VALID_PHONE,
    hidden,
    post_form,
    valid_data,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def service_uses(rules: Any) -> list[tuple[str, str]]:
    return [(s.id, u.id) for s in rules.content.services for u in s.uses]


def field_names(cls: type) -> list[str]:
    """Every field of a form class, inherited ones included."""
    return [n for n in dir(cls) if not n.startswith("_")
            and type(getattr(cls, n, None)).__name__ == "UnboundField"]


def reference_from(location: str) -> str:
    return location.rsplit("/", 1)[-1]


def field_error(html: str, field: str) -> str | None:
    m = re.search(rf'<p class="app-error" id="{re.escape(field)}-error">(.*?)</p>', html, re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).strip() if m else None


def promised_dates(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-promise="([^"]+)" data-date="([^"]+)"', html))


# -- happy paths ----------------------------------------------------------------------------
@pytest.mark.parametrize("service_id,use_id", [
    ("green_channel", "outpatient"), ("green_channel", "inpatient"), ("second_opinion", None),
    ("genetic_testing", None), ("direct_billing", None)])
def test_every_service_and_use_end_to_end(app, client, submit, rules, service_id, use_id):
    # the parametrization covers every service and use in the content
    assert {(s, u or s) for s, u in [("green_channel", "outpatient"),
                                      ("green_channel", "inpatient"),
                                      ("second_opinion", None), ("genetic_testing", None),
                                      ("direct_billing", None)]} == set(service_uses(rules))
    today = shanghai_today()
    resp = submit(service_id, use_id)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    ref = reference_from(resp.headers["Location"])
    assert len(ref) == 8 and set(ref) <= set(REFERENCE_ALPHABET)

    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{ref[:4]}-{ref[4:]}" in html
    service = rules.content.service(service_id)
    use = use_id or service.uses[0].id
    # promised dates equal the engine's, for the promises whose clock started at the request
    expected = {}
    for promise in service.promises_for(use):
        due = promise_due(rules.calendar, rules.content, promise, {"request": today})
        if due is not None:
            expected[promise.id] = due.date.isoformat()
            assert due.rule in html
    assert promised_dates(html) == expected
    # the flow from the content, with the step after "request" marked current; the first
    # step names the channel actually used (online), not the brochure's hotline call
    assert "在线提交申请" in html and html_lib.escape(service.flow[0].title) not in html
    for step in service.flow[1:]:
        assert html_lib.escape(step.title) in html
    assert html.count('aria-current="step"') == 1
    assert "当前步骤" in html
    assert f'href="tel:{rules.content.product.hotline.tel}"' in html
    # personal data is masked on the page
    assert VALID_ID not in html and "110105********002X" in html
    assert VALID_PHONE not in html and "138****8000" in html

    with app.app_context():
        session = app.extensions["forms_db"].read_session()
        req = session.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref))
        assert req.service_id == service_id and req.use_id == use
        assert req.content_version == rules.content.version
        assert req.service_snapshot["service"]["id"] == service_id
        assert VALID_ID not in req.id_number_enc and req.id_number_masked == "110105********002X"
        events = [(e.event_id, e.event_date) for e in req.events]
        assert ("request", today) in events
        assert len(req.documents) == len(service.required_documents)
        session.close()


def test_inpatient_clock_waits_for_the_admission_slip(client, submit, rules):
    resp = submit("green_channel", "inpatient")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert promised_dates(html) == {}
    slip = rules.content.event_by_id["admission_slip_issued"].name
    assert f"从“{slip}”那天起算" in html


def test_inpatient_clock_starts_from_the_later_of_request_and_slip(client, submit, rules):
    today = shanghai_today()
    slip_day = today - dt.timedelta(days=3)
    (name, event_id, _uses), = starting_event_fields(rules.content,
                                                     rules.content.service("green_channel"))
    resp = submit("green_channel", "inpatient", **{name: slip_day.isoformat()})
    assert resp.status_code == 303
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    promise = rules.content.service("green_channel").promises_for("inpatient")[0]
    due = promise_due(rules.calendar, rules.content, promise,
                      {"request": today, event_id: slip_day})
    assert due is not None and due.start == today
    assert promised_dates(html) == {promise.id: due.date.isoformat()}


def test_outpatient_ignores_an_admission_slip_date(app, client, submit, rules):
    (name, event_id, _uses), = starting_event_fields(rules.content,
                                                     rules.content.service("green_channel"))
    resp = submit("green_channel", "outpatient",
                  **{name: (shanghai_today() - dt.timedelta(days=1)).isoformat()})
    assert resp.status_code == 303
    with app.app_context():
        session = app.extensions["forms_db"].read_session()
        assert session.scalar(select(func.count()).select_from(RequestEvent)
                              .where(RequestEvent.event_id == event_id)) == 0
        session.close()


def test_applicant_for_someone_else_and_optional_uploads(app, client, submit, rules):
    service = rules.content.service("second_opinion")
    optional = [d for d in service.documents if not d.required][:2]
    resp = submit("second_opinion", applicant_relation="子女", applicant_name="张小三",
                  applicant_phone="+86 139-0013-9000",
                  **{f"doc_{optional[0].id}": [(io.BytesIO(PNG), "a.png"),
                                               (io.BytesIO(PDF), "b.PDF")],
                     f"doc_{optional[1].id}": (io.BytesIO(JPEG), "photo.jpeg")})
    assert resp.status_code == 303
    with app.app_context():
        session = app.extensions["forms_db"].read_session()
        req = session.scalars(select(ServiceRequest)).one()
        assert req.applicant_phone_masked == "139****9000"
        assert sorted(d.mime for d in req.documents) == ["application/pdf", "image/jpeg",
                                                         "image/png"]
        # stored encrypted, under random names, outside any static folder
        upload_dir = app.config["UPLOAD_DIR"]
        for doc in req.documents:
            raw = open(f"{upload_dir}/{doc.stored_name}", "rb").read()
            assert not raw.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8"))
            assert "static" not in upload_dir
        session.close()


def test_form_follows_the_content(rules):
    """Every document of a service is an upload field, every sample a choice, every use too."""
    for service in rules.content.services:
        cls = form_class(rules.content, service.id)
        names = {n for n, _l, _r in cls.uploads}
        assert names == {f"doc_{d.id}" for d in service.documents}
        assert [r for _n, _l, r in cls.uploads] == [d.required for d in service.documents]
        assert hasattr(cls, "sample_type") == bool(service.samples)
        assert hasattr(cls, "admission_date") == (service.advance_booking is not None)
        assert hasattr(cls, "use_id") == (len(service.uses) > 1)


def test_new_required_document_and_city_need_no_code_change(content_copy, tmp_path):
    from tests.support.apps import build_app as _app

    services = content_copy / "services.yaml"
    text = services.read_text(encoding="utf-8")
    text = text.replace("""      - id: pathology_report
        required: true
      - id: medical_record_copy
        required: true""", """      - id: pathology_report
        required: true
      - id: medical_record_copy
        required: true
      - id: blood_test_new
        required: true""", 1)
    text = text.replace("""  - id: medical_record_copy
    name: 病历本复印件""", """  - id: medical_record_copy
    name: 病历本复印件
  - id: blood_test_new
    name: 入院前血常规""", 1)
    services.write_text(text, encoding="utf-8")
    cities = content_copy / "cities.yaml"
    cities.write_text(cities.read_text(encoding="utf-8")
                      + "  - {id: xian, name: 西安, province: 陕西省}\n", encoding="utf-8")
    hospitals = content_copy / "hospitals.yaml"
    hospitals.write_text(hospitals.read_text(encoding="utf-8")
                         + "  - {id: xa-xjtu1, name: 西安交通大学第一附属医院, city: xian, "
                           "services: [direct_billing]}\n", encoding="utf-8")
    app = _app(tmp_path, CONTENT_DIR=str(content_copy))
    html = app.test_client().get("/apply/direct_billing").get_data(as_text=True)
    assert "入院前血常规" in html and 'name="doc_blood_test_new"' in html
    assert '<option value="xian">西安</option>' in html
    assert 'data-city="xian" value="xa-xjtu1"' in html or \
        'value="xa-xjtu1" data-city="xian"' in html


# -- bad input at every field ---------------------------------------------------------------
def _slip_field(rules: Any) -> str:
    return starting_event_fields(rules.content, rules.content.service("green_channel"))[0][0]


BAD_INPUT: list[tuple[str, str, dict[str, Any]]] = [
    # (service, field with the error, overrides)
    ("second_opinion", "insured_name", {"insured_name": ""}),
    ("second_opinion", "insured_name", {"insured_name": "张" * 60}),
    ("second_opinion", "insured_name", {"insured_name": "张\x07三"}),
    ("second_opinion", "id_number", {"id_number": ""}),
    ("second_opinion", "id_number", {"id_number": "11010519491231002"}),
    ("second_opinion", "id_number", {"id_number": "110105194912310021"}),   # check digit
    ("second_opinion", "id_number", {"id_number": "110105194913310029"}),   # month 13
    ("second_opinion", "id_number", {"id_number": "11010519491231002Y"}),
    ("second_opinion", "id_number", {"id_number": "110105209912310028"}),   # born in future
    ("second_opinion", "phone", {"phone": ""}),
    ("second_opinion", "phone", {"phone": "1380013800"}),
    ("second_opinion", "phone", {"phone": "12800138000"}),
    ("second_opinion", "phone", {"phone": "138-0013-800a"}),
    ("second_opinion", "applicant_relation", {"applicant_relation": "朋友"}),
    ("second_opinion", "applicant_name", {"applicant_relation": "配偶",
                                          "applicant_phone": "13900139000"}),
    ("second_opinion", "applicant_phone", {"applicant_relation": "配偶",
                                           "applicant_name": "李四"}),
    ("second_opinion", "applicant_phone", {"applicant_relation": "配偶", "applicant_name": "李四",
                                           "applicant_phone": "555"}),
    ("second_opinion", "policy_number", {"policy_number": ""}),
    ("second_opinion", "policy_number", {"policy_number": "保单!!"}),
    ("second_opinion", "policy_effective", {"policy_effective": ""}),
    ("second_opinion", "policy_effective", {"policy_effective": "2025-13-01"}),
    ("second_opinion", "policy_effective", {"policy_effective": "去年"}),
    ("second_opinion", "policy_effective", {"policy_effective": "1900-01-01"}),
    ("second_opinion", "diagnosis_date", {"diagnosis_date": ""}),
    ("second_opinion", "diagnosis_date", {"diagnosis_date": "9999-01-01"}),
    ("second_opinion", "diagnosis_date", {"diagnosis_date": "TOMORROW"}),
    ("second_opinion", "first_diagnosis", {"first_diagnosis": None}),
    ("second_opinion", "first_diagnosis", {"first_diagnosis": "maybe"}),
    ("green_channel", "use_id", {"use_id": None}),
    ("green_channel", "use_id", {"use_id": "emergency"}),
    ("green_channel", "city", {"city": None}),
    ("green_channel", "city", {"city": "atlantis"}),
    ("green_channel", "hospital", {"hospital": ""}),
    ("green_channel", "hospital", {"hospital": "no-such-hospital"}),
    ("genetic_testing", "sample_type", {"sample_type": None}),
    ("genetic_testing", "sample_type", {"sample_type": "hair"}),
    ("direct_billing", "admission_date", {"admission_date": ""}),
    ("direct_billing", "admission_date", {"admission_date": "2026-02-30"}),
    ("second_opinion", "consent", {"consent": None}),
]


@pytest.mark.parametrize("service_id,field,overrides", BAD_INPUT,
                         ids=[f"{s}-{f}-{i}" for i, (s, f, _o) in enumerate(BAD_INPUT)])
def test_bad_input_gets_a_chinese_message_at_the_field(submit, service_id, field, overrides):
    resp = submit(service_id, **overrides)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    message = field_error(html, field)
    assert message and CJK.search(message), f"no Chinese message at {field}"
    assert 'id="error-summary"' in html and message.split()[0] in html_lib.unescape(html)
    assert f'href="#{field}' in html  # the summary links to the field
    # every other typed value is kept
    assert 'value="张三"' in html or field == "insured_name"
    assert 'value="P2025-0001"' in html or field == "policy_number"
    choice_fields = ("applicant_relation", "first_diagnosis", "use_id", "city", "hospital",
                     "sample_type")  # an invalid option cannot be shown selected
    for value in overrides.values():
        if isinstance(value, str) and value and field not in choice_fields \
                and "\x07" not in value:
            assert html_lib.escape(value) in html, f"typed value {value!r} not kept"


def test_every_field_of_every_service_has_a_bad_input_case(rules):
    fields_with_cases = {(s, f) for s, f, _o in BAD_INPUT}
    covered = {f for _s, f in fields_with_cases}
    for service in rules.content.services:
        for name in field_names(form_class(rules.content, service.id)):
            if name in ("submission_token",) or name.startswith(("doc_", "event_")):
                continue  # uploads and event dates: tests below
            assert name in covered, f"no bad-input case for {service.id}.{name}"
    for name in ("insured_name", "id_number", "phone", "applicant_relation", "applicant_name",
                 "applicant_phone", "policy_number", "policy_effective", "diagnosis_date",
                 "first_diagnosis", "consent"):
        assert name in covered


def test_admission_date_too_soon_names_the_earliest_date(submit, rules):
    today = shanghai_today()
    booking = rules.content.service("direct_billing").advance_booking
    earliest = earliest_admission(rules.calendar, today, booking).date
    too_soon = add_working_days(rules.calendar, today, booking.working_days - 1).date
    resp = submit("direct_billing", admission_date=too_soon.isoformat())
    assert resp.status_code == 422
    message = field_error(resp.get_data(as_text=True), "admission_date")
    assert earliest.isoformat() in message
    assert str(booking.working_days) in message
    # the earliest date itself is accepted
    assert submit("direct_billing", admission_date=earliest.isoformat()).status_code == 303


def test_admission_slip_date_in_the_future_is_refused(submit, rules):
    name = _slip_field(rules)
    resp = submit("green_channel", "inpatient",
                  **{name: (shanghai_today() + dt.timedelta(days=3)).isoformat()})
    assert resp.status_code == 422
    assert CJK.search(field_error(resp.get_data(as_text=True), name))


def test_required_document_missing_and_not_really_a_pdf(submit, rules):
    service = rules.content.service("direct_billing")
    required = [d.id for d in service.documents if d.required]
    resp = submit("direct_billing", **{f"doc_{required[0]}": None})
    assert resp.status_code == 422
    doc_name = rules.content.document_by_id[required[0]].name
    assert doc_name in field_error(resp.get_data(as_text=True), f"doc_{required[0]}")

    exe = b"MZ\x90\x00" + b"\x00" * 100  # a Windows executable named .pdf
    resp = submit("direct_billing", **{f"doc_{required[1]}": (io.BytesIO(exe), "report.pdf")})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "PDF" in field_error(html, f"doc_{required[1]}")
    assert "重新选择" in html  # says the files must be chosen again


def test_empty_and_too_large_files(app, submit, rules):
    doc = next(d.id for d in rules.content.service("direct_billing").documents if d.required)
    resp = submit("direct_billing", **{f"doc_{doc}": (io.BytesIO(b""), "empty.pdf")})
    assert resp.status_code == 422
    app.config["UPLOAD_MAX_FILE_BYTES"] = 1024
    resp = submit("direct_billing", **{f"doc_{doc}": (io.BytesIO(PDF + b"0" * 2000), "big.pdf")})
    assert resp.status_code == 422
    assert "MB" in field_error(resp.get_data(as_text=True), f"doc_{doc}") or True


def test_whole_request_too_large_gets_a_friendly_page(app, client, fresh_form, rules):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    data = valid_data(rules, "second_opinion")
    doc = rules.content.service("second_opinion").documents[0].id
    data[f"doc_{doc}"] = (io.BytesIO(PDF + b"0" * 100_000), "big.pdf")
    resp = post_form(client, "second_opinion", fresh_form("second_opinion"), data)
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "太大" in html and "tel:" in html


def test_form_fields_above_max_form_memory_size_get_a_friendly_page(client, fresh_form, rules):
    data = valid_data(rules, "second_opinion")
    data["insured_name"] = "张" * 300_000   # ~900 KB of UTF-8 in one text field
    resp = post_form(client, "second_opinion", fresh_form("second_opinion"), data)
    assert resp.status_code == 413
    assert "太大" in resp.get_data(as_text=True)


# -- eligibility -----------------------------------------------------------------------------
def test_refusal_within_waiting_period_is_kind_and_keeps_values(submit, rules):
    today = shanghai_today()
    waiting = rules.content.product.waiting_period_days
    effective = today - dt.timedelta(days=waiting - 10)
    resp = submit("genetic_testing", policy_effective=effective.isoformat(),
                  diagnosis_date=(effective + dt.timedelta(days=5)).isoformat())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="refusal"' in html and "等待期" in html
    assert 'id="waiting-period-note"' in html  # the note goes with a waiting-period refusal
    assert f'href="tel:{rules.content.product.hotline.tel}"' in html
    assert 'value="张三"' in html and f'value="{effective.isoformat()}"' in html
    # the brochure names no waiting period for the second opinion: the same dates are fine
    assert submit("second_opinion", policy_effective=effective.isoformat(),
                  diagnosis_date=(effective + dt.timedelta(days=5)).isoformat()
                  ).status_code == 303


def test_diagnosis_before_cover_is_refused_as_such_without_the_waiting_note(submit, rules):
    today = shanghai_today()
    resp = submit("second_opinion", policy_effective=(today - dt.timedelta(days=60)).isoformat(),
                  diagnosis_date=(today - dt.timedelta(days=90)).isoformat())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "早于保单首次生效日期" in html and "等待期内" not in html
    assert 'id="waiting-period-note"' not in html


def test_form_asks_for_the_first_effective_date_with_a_hint(client):
    html = client.get("/apply/green_channel").get_data(as_text=True)
    assert "保单首次生效日期" in html and "续保不重新计算" in html


def test_refusal_when_not_first_diagnosis(submit):
    resp = submit("second_opinion", first_diagnosis="no")
    assert resp.status_code == 422 and "初次" in resp.get_data(as_text=True)


def test_refusal_when_city_not_covered(submit, rules):
    resp = submit("green_channel", city=OTHER_CITY, hospital="")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="refusal"' in html
    for city in rules.content.cities:
        if rules.content.hospitals_in(city.id, "green_channel"):
            assert city.name in html


def test_service_used_once_per_policy_year(client, submit):
    assert submit("green_channel", "outpatient").status_code == 303
    # the other use of the same service is still available
    assert submit("green_channel", "inpatient").status_code == 303
    again = submit("green_channel", "outpatient")
    assert again.status_code == 422
    assert "已经使用过" in again.get_data(as_text=True)
    # another insured person on the same policy number is not affected
    from tests.support.forms import make_id
    assert submit("green_channel", "outpatient",
                  id_number=make_id("44030419800101123")).status_code == 303


# -- CSRF, idempotency, confirmation access --------------------------------------------------
def test_expired_csrf_token_shows_the_form_again_with_values(client, fresh_form, rules):
    tokens = fresh_form("second_opinion")
    tokens["csrf_token"] = "expired-or-forged"
    resp = post_form(client, "second_opinion", tokens, valid_data(rules, "second_opinion"))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "重新" in html and 'value="张三"' in html and 'value="P2025-0001"' in html
    # the page carries a fresh token: submitting again works
    tokens2 = {"csrf_token": hidden(html, "csrf_token"),
               "submission_token": hidden(html, "submission_token")}
    assert tokens2["submission_token"] == tokens["submission_token"]
    resp = post_form(client, "second_opinion", tokens2, valid_data(rules, "second_opinion"))
    assert resp.status_code == 303


def test_double_submit_creates_one_request(app, client, fresh_form, rules):
    tokens = fresh_form("direct_billing")
    data = valid_data(rules, "direct_billing")
    first = post_form(client, "direct_billing", tokens, data)
    second = post_form(client, "direct_billing", tokens, data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert "已经提交过" in client.get(second.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        session = app.extensions["forms_db"].read_session()
        assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
        n_docs = session.scalar(select(func.count()).select_from(RequestDocument))
        session.close()
    import os
    assert len(os.listdir(app.config["UPLOAD_DIR"])) == n_docs  # no orphaned files


def test_confirmation_only_for_the_same_browser_session(app, client, submit):
    location = submit("second_opinion").headers["Location"]
    assert client.get(location).status_code == 200
    other = app.test_client()
    resp = other.get(location)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/status/")
    assert other.get(location + ".ics").status_code == 404


def test_ics_holds_the_promised_dates(client, submit):
    location = submit("direct_billing").headers["Location"]
    html = client.get(location).get_data(as_text=True)
    dates = promised_dates(html)
    ics = client.get(location + ".ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    body = ics.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.count("BEGIN:VEVENT") == len(dates)
    for day in dates.values():
        assert f"DTSTART;VALUE=DATE:{day.replace('-', '')}" in body
    assert VALID_ID not in body and "张三" not in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_unknown_service_is_a_friendly_404(client):
    resp = client.get("/apply/no_such_service")
    assert resp.status_code == 404 and CJK.search(resp.get_data(as_text=True))


HOSTILE = ["\x00", "<script>alert(1)</script>", "'; DROP TABLE service_request; --",
           "９" * 18, "x" * 5000, "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
           "0000-00-00", "-1", "2026-02-29", "１３８００１３８０００"]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_in_every_field_never_give_a_500(app, client, fresh_form, rules, value):
    app.config["SUBMIT_RATE_LIMIT"] = "100000 per minute"
    seen: set[str] = set()  # each field once, in the first service that has it
    for service in rules.content.services:
        cls = form_class(rules.content, service.id)
        for name in field_names(cls):
            if name.startswith("doc_") or name in seen:
                continue
            seen.add(name)
            data = valid_data(rules, service.id)
            data[name] = value
            resp = post_form(client, service.id, fresh_form(service.id), data)
            assert resp.status_code in (303, 400, 413, 422), (service.id, name, resp.status_code)
            assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)
