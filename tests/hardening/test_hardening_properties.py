"""Property-based tests: random and hostile values at every form and API endpoint.

Each example starts from a valid answer and replaces some fields with hostile values (very
long strings, control characters, invalid UTF-8, markup, far-away dates), sends hostile files
(an executable named .pdf, `%PDF-` then a program, a truncated PNG, an image bomb's header,
empty, random bytes, too large, too many; real PDFs and images among them), sometimes with
filenames put raw into the part's header (line breaks, quotes, control characters), and
sometimes drops or spoils the CSRF token or the whole body. Never a 500 (or a traceback); a
request stored has every file that was sent (none dropped on the way); afterwards the database
and the upload folder agree: every document row has its file, no file lacks a row.
The number of cases tried is printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from forms_app.storage.models import RequestDocument, ServiceRequest, StaffUser
from tests.support.consistency import store_problems
from tests.support.forms import valid_data
from tests.support.gunicorn_harness import (
    PDF_BYTES,
    csrf_token,
    encode_multipart,
    valid_id_number,
    valid_phone,
)
from tests.support.hostile_cases import count_case, count_outcome
from tests.support.sample_files import image_bytes, noisy_image, png_claiming

EXAMPLES = 250
SMALL_FILE = 64 * 1024        # per-file limit in these tests (the real one is 10 MB)
SMALL_REQUEST = 512 * 1024    # request limit in these tests (the real one is 40 MB)
# 301/308: a path with doubled slashes is redirected to its merged form (werkzeug), and a
# folder of the built site without its slash (WhiteNoise: 302)
OK_STATUSES = {200, 301, 302, 303, 308, 400, 401, 403, 404, 405, 413, 415, 422, 429}
# no shrinking phase: a failure is reported as found (shrinking big hostile bodies takes
# minutes), with hypothesis' own note of the draws
# CI explores a fixed sequence so a landing never depends on luck; local runs keep exploring.
PROFILE = settings(max_examples=EXAMPLES, deadline=None,
                   derandomize=os.environ.get("CI") == "true",
                   phases=[Phase.explicit, Phase.reuse, Phase.generate],
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow, HealthCheck.data_too_large])

# -- hostile values -------------------------------------------------------------------------
CONTROL = st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=20)
FIXED_HOSTILE: list[str | bytes] = [
    "", " ", "\x00", "a\x00b", "\r\n\r\nX-Injected: 1", "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>", "{{7*7}}", "{% raw %}", "' OR '1'='1' --",
    "Robert'); DROP TABLE service_request;--", "../../../../etc/passwd", "%00", "%s%s%n",
    "\u202e\u0635\u202c", "\u200b\u200b", "\ufeff", "𠜎𠜱𠝹", "😀" * 10, "１１０１０５",
    "null", "None", "NaN", "-1", "9" * 400, "\udcff".encode("utf-8", "surrogatepass"),
    b"\xff\xfe\xfd", b"\xc3\x28", b"\xe2\x82", b"\x80abc", b"\xed\xa0\x80",
    "ا" * 60, "张" * 51, "\t\v\f",
]
LONG = st.integers(min_value=60, max_value=700_000).map(lambda n: "长" * (n // 3) + "x" * (n % 3))
HOSTILE_TEXT: st.SearchStrategy[str | bytes] = st.one_of(
    st.sampled_from(FIXED_HOSTILE), st.text(max_size=80), CONTROL, LONG,
    st.binary(max_size=60))
HOSTILE_DATE: st.SearchStrategy[str | bytes] = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(
        lambda d: d.isoformat()),
    st.sampled_from(["0000-00-00", "0001-01-01", "9999-12-31", "2024-02-30", "2026-13-01",
                     "-2026-01-01", "+12026-01-01", "2026/01/01", "2026.1.1", "２０２６-０１-０１",
                     "20260101", "1e9", "2026-01-01T00:00:00", "2026-01-01\x00", "昨天"]),
    HOSTILE_TEXT)

MZ_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run"
FILE_KINDS = ["pdf", "exe_named_pdf", "empty", "random", "png", "jpeg", "too_big",
              "pdf_magic_then_exe", "html_named_pdf", "zip", "real_png", "real_jpeg",
              "truncated_png", "bomb_png", "pdf_magic_then_html"]
REAL_PNG, REAL_JPEG = image_bytes("PNG"), image_bytes("JPEG")
TRUNCATED_PNG = noisy_image("PNG", (60, 40))[:3000]
BOMB_PNG = png_claiming(50_000, 50_000)


def file_bytes(kind: str, rnd: bytes) -> tuple[bytes, str]:
    return {
        "pdf": (PDF_BYTES, "application/pdf"),
        "exe_named_pdf": (MZ_EXE, "application/pdf"),
        "empty": (b"", "application/pdf"),
        "random": (rnd, "application/octet-stream"),
        "png": (b"\x89PNG\r\n\x1a\n" + rnd, "image/png"),
        "jpeg": (b"\xff\xd8\xff\xe0" + rnd, "image/jpeg"),
        "too_big": (b"%PDF-1.4\n" + b"0" * (SMALL_FILE + 10), "application/pdf"),
        "pdf_magic_then_exe": (b"%PDF-" + MZ_EXE, "application/pdf"),
        "html_named_pdf": (b"<html><script>alert(1)</script></html>", "application/pdf"),
        "zip": (b"PK\x03\x04" + rnd, "application/zip"),
        "real_png": (REAL_PNG, "image/png"),
        "real_jpeg": (REAL_JPEG, "image/jpeg"),
        "truncated_png": (TRUNCATED_PNG, "image/png"),
        "bomb_png": (BOMB_PNG, "image/png"),
        "pdf_magic_then_html": (b"%PDF-1.7\n<html><body>x</body></html>", "application/pdf"),
    }[kind]


FILENAMES = st.one_of(
    st.sampled_from(["report.pdf", "../../../etc/passwd.pdf", "a\x00b.pdf", "x" * 300 + ".pdf",
                     "病理报告.PDF", "virus.exe", ".pdf", "con.pdf", "<b>x</b>.pdf", "",
                     "a\r\nContent-Type: text/html.pdf", "a\rb.pdf", "a\nb.pdf", 'a"b.pdf',
                     "a\x1b.png", "photo.png", "scan.jpg", "IMG_2026"]),
    st.text(max_size=40))


@st.composite
def uploads(draw: st.DrawFn, doc_fields: list[str]) -> list[tuple[str, str, bytes, str]]:
    files = []
    for name in doc_fields:
        n = draw(st.sampled_from([0, 0, 1, 1, 2, 6]))  # 6 is more than the 5 allowed
        for _ in range(n):
            kind = draw(st.sampled_from(FILE_KINDS))
            data, ctype = file_bytes(kind, draw(st.binary(min_size=0, max_size=200)))
            files.append((name, draw(FILENAMES), data, ctype))
    return files


# -- the app under test ---------------------------------------------------------------------
@pytest.fixture
def hostile_app(make_app: Any) -> Flask:
    return make_app(MAX_CONTENT_LENGTH=SMALL_REQUEST, UPLOAD_MAX_FILE_BYTES=SMALL_FILE,
                    SITE_DIR="/nonexistent-site")


def valid_fields(app: Flask, service_id: str) -> dict[str, str]:
    """tests/app's complete answer, with a fresh insured person and policy each time (so
    "already used" never refuses) and without files (the uploads strategy draws those)."""
    data = valid_data(app.extensions["forms_rules"], service_id)
    data.update({"insured_name": "王五", "id_number": valid_id_number(), "phone": valid_phone(),
                 "policy_number": "HP" + secrets.token_hex(5).upper()})
    return {k: v for k, v in data.items() if not k.startswith("doc_")}


def check_response(resp: Any, what: str) -> None:
    body = resp.get_data()
    assert resp.status_code in OK_STATUSES, (what, resp.status_code, body[:300])
    assert b"Traceback" not in body and b"sqlalchemy" not in body.lower(), what


class _InjectedMarkup(HTMLParser):
    """Start tags that carry an event-handler attribute, and inline scripts (the parser
    BeautifulSoup's html.parser mode builds on, without building a tree for 500 pages)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if any(name.startswith("on") for name in named):
            self.found.append(f"<{tag} {attrs}>"[:120])
        if tag == "script" and not (named.get("src") or named.get("type") == "application/json"):
            self.found.append(f"<script {attrs}>"[:120])


def assert_no_injected_markup(page: bytes) -> None:
    """Typed markup comes back as text: no event-handler attribute, no inline script."""
    parser = _InjectedMarkup()
    parser.feed(page.decode("utf-8", "replace"))
    parser.close()
    assert parser.found == []


def assert_store_consistent(app: Flask) -> None:
    problems = store_problems(app.config["DATABASE_URL"], Path(app.config["UPLOAD_DIR"]),
                              app.extensions["forms_crypto"])
    assert problems == []


CSRF_MODES = ["valid", "valid", "valid", "missing", "empty", "wrong", "other_session"]


def csrf_value(mode: str, token: str) -> str | None:
    if mode == "missing":
        return None
    return {"valid": token, "empty": "", "wrong": token[:-4] + "AAAA",
            "other_session": "IjVmZjM2NjQ3NDA0YzM3YjQ5ZTM0ZjU0MGQ0NDk4ZjA2ZGJiZjU0ZjMi.aaaa.bbbb"
            }.get(mode, token)


# -- applicant forms --------------------------------------------------------------------------
def apply_example(app: Flask, data: st.DataObject) -> None:
    client: FlaskClient = app.test_client()
    services = list(app.extensions["forms_rules"].content.service_by_id)
    service_id = data.draw(st.sampled_from(services), "service")
    page = client.get(f"/apply/{service_id}")
    assert page.status_code == 200
    token = csrf_token(page.data)
    fields: dict[str, str | bytes] = dict(valid_fields(app, service_id))
    date_fields = {"policy_effective", "diagnosis_date", "admission_date"} | {
        k for k in re.findall(r'name="(event_[a-z_]+)"', page.get_data(as_text=True))}
    names = sorted(set(fields) | date_fields | {"submission_token", "use_id", "city",
                                                 "hospital", "sample_type"})
    spoiled = data.draw(st.sets(st.sampled_from(names), max_size=4), "spoiled")
    for name in spoiled:
        if data.draw(st.booleans(), f"drop {name}"):
            fields.pop(name, None)
        else:
            strategy = HOSTILE_DATE if name in date_fields else HOSTILE_TEXT
            fields[name] = data.draw(strategy, name)
    mode = data.draw(st.sampled_from(CSRF_MODES), "csrf")
    csrf = csrf_value(mode, token)
    pairs: list[tuple[str, str | bytes]] = list(fields.items())
    if csrf is not None:
        pairs.insert(0, ("csrf_token", csrf))
    doc_fields = re.findall(r'name="(doc_[a-z_]+)"', page.get_data(as_text=True))
    files = data.draw(uploads(sorted(set(doc_fields))), "files")
    raw = data.draw(st.booleans(), "raw filenames")
    body, ctype = encode_multipart(pairs, files, raw_filenames=raw)
    shape = data.draw(st.sampled_from(["multipart"] * 6 + ["truncated", "no_boundary",
                                                          "urlencoded", "text", "garbage"]))
    if shape == "truncated":
        body = body[: len(body) // 2]
    elif shape == "no_boundary":
        ctype = "multipart/form-data"
    elif shape == "urlencoded":
        body = b"&".join(k.encode() + b"=" + (v if isinstance(v, bytes) else v.encode())
                         for k, v in pairs)
        ctype = "application/x-www-form-urlencoded"
    elif shape == "text":
        ctype = "text/plain"
    elif shape == "garbage":
        body = data.draw(st.binary(max_size=2000))
    resp = client.post(f"/apply/{service_id}", data=body, content_type=ctype)
    count_case("apply form")
    check_response(resp, f"{service_id} {shape} csrf={mode} spoiled={sorted(spoiled)}")
    if resp.status_code == 303:
        count_outcome("apply forms stored")
        location = resp.headers["Location"]
        assert re.search(r"/apply/confirmation/[2-9A-Y]{8}$", location), location
        if shape == "multipart":  # every file sent with content was checked and stored
            sent = sum(1 for _n, _f, content, _t in files if content)
            reference = location.rsplit("/", 1)[-1]
            with app.extensions["forms_db"].read_session() as s:
                stored = s.scalar(select(func.count()).select_from(RequestDocument).join(
                    ServiceRequest).where(ServiceRequest.reference == reference))
            assert stored == sent, (sent, stored, [(n, f) for n, f, _c, _t in files])
        shown = client.get(location)
        check_response(shown, "confirmation")
        assert_no_injected_markup(shown.data)  # whatever was typed is escaped on the page
    elif resp.status_code in (400, 422):
        assert_no_injected_markup(resp.data)


def test_apply_forms_survive_hostile_input_and_store_stays_consistent(hostile_app: Flask
                                                                     ) -> None:
    @given(data=st.data())
    @settings(PROFILE, max_examples=2 * EXAMPLES)
    def run(data: st.DataObject) -> None:
        apply_example(hostile_app, data)

    run()
    assert_store_consistent(hostile_app)
    with hostile_app.extensions["forms_db"].read_session() as s:
        stored = s.scalars(select(ServiceRequest)).all()
        assert stored, "some answers with hostile files or values were valid and stored"
    for req in stored:  # what was stored passed validation
        assert len(req.insured_name) <= 50
        assert not any(ord(c) < 32 for c in req.insured_name)


# -- status lookup ------------------------------------------------------------------------------
@given(reference=HOSTILE_TEXT, last4=HOSTILE_TEXT, mode=st.sampled_from(CSRF_MODES))
@PROFILE
def test_status_lookup_survives_hostile_input(hostile_app: Flask, reference: str | bytes,
                                              last4: str | bytes, mode: str) -> None:
    client = hostile_app.test_client()
    token = csrf_token(client.get("/status/").data)
    pairs: list[tuple[str, str | bytes]] = [("reference", reference), ("last4", last4)]
    csrf = csrf_value(mode, token)
    if csrf is not None:
        pairs.append(("csrf_token", csrf))
    body, ctype = encode_multipart(pairs, [])
    resp = client.post("/status/", data=body, content_type=ctype)
    count_case("status lookup")
    check_response(resp, f"status csrf={mode}")
    assert resp.status_code != 200 or mode == "valid"
    assert_no_injected_markup(resp.data)


# -- JSON API ---------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              HOSTILE_TEXT.filter(lambda v: isinstance(v, str)), HOSTILE_DATE.filter(
                  lambda v: isinstance(v, str))),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.one_of(st.sampled_from(["service_id", "use_id", "events", "request",
                                   "admission_slip_issued", "records_complete"]),
                  st.text(max_size=10)), inner, max_size=5),
    max_leaves=20)


@st.composite
def api_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["shaped", "shaped", "any", "bytes", "deep", "huge"]))
    if kind == "shaped":
        body: Any = {"service_id": draw(st.one_of(st.sampled_from(
            ["green_channel", "second_opinion", "genetic_testing", "direct_billing"]),
            JSON_VALUES)),
            "use_id": draw(JSON_VALUES),
            "events": draw(st.one_of(st.dictionaries(st.sampled_from(
                ["request", "records_complete", "admission_slip_issued", "sample_received",
                 "unknown_event"]), HOSTILE_DATE.filter(lambda v: isinstance(v, str)),
                max_size=4), JSON_VALUES))}
        return json.dumps(body).encode(), "application/json"
    if kind == "any":
        return json.dumps(draw(JSON_VALUES)).encode(), "application/json"
    if kind == "deep":
        depth = draw(st.integers(100, 100_000))
        return b"[" * depth + b"]" * depth, "application/json"
    if kind == "huge":
        return b'{"service_id": "' + b"x" * (SMALL_REQUEST + 100) + b'"}', "application/json"
    return draw(st.binary(max_size=500)), draw(st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded"]))


@given(body=api_bodies())
@PROFILE
def test_api_survives_hostile_input(hostile_app: Flask, body: tuple[bytes, str]) -> None:
    client = hostile_app.test_client()
    resp = client.post("/api/promises", data=body[0], content_type=body[1])
    count_case("api promises")
    check_response(resp, "api")
    assert resp.is_json, resp.data[:200]


@given(path=st.one_of(st.text(max_size=40), st.sampled_from([
    "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fforms.db", "apply/../../x",
    "confirmation/ABCD2345.ics", "%00", "static/../../instance/secret_key"])),
    prefix=st.sampled_from(["/apply/", "/apply/confirmation/", "/api/", "/status/", "/",
                            "/staff/requests/", "/app-static/"]))
@PROFILE
def test_get_endpoints_survive_hostile_paths(hostile_app: Flask, path: str,
                                             prefix: str) -> None:
    client = hostile_app.test_client()
    # Set PATH_INFO as a WSGI server would from the raw request line (UTF-8 bytes read as
    # latin-1): passing the text as a URL lets the test client read "//x" as a host name.
    raw = (prefix + path).encode("utf-8").decode("latin-1")
    resp = client.get("/", environ_overrides={"PATH_INFO": raw})
    count_case("hostile path")
    check_response(resp, prefix + path)
    body = resp.get_data()
    assert b"hardening-secret" not in body and b"hash-key" not in body


# -- staff sign-in and staff forms --------------------------------------------------------------
@given(username=HOSTILE_TEXT, password=HOSTILE_TEXT, mode=st.sampled_from(CSRF_MODES),
       nxt=st.sampled_from(["", "//evil.example/", "https://evil.example/", "/staff/",
                            "/\\evil.example", "javascript:alert(1)", "/staff/%0d%0aX: y"]))
@PROFILE
def test_staff_login_survives_hostile_input(hostile_app: Flask, username: str | bytes,
                                            password: str | bytes, mode: str,
                                            nxt: str) -> None:
    client = hostile_app.test_client()
    token = csrf_token(client.get("/staff/login").data)
    pairs: list[tuple[str, str | bytes]] = [("username", username), ("password", password)]
    csrf = csrf_value(mode, token)
    if csrf is not None:
        pairs.append(("csrf_token", csrf))
    body, ctype = encode_multipart(pairs, [])
    resp = client.post("/staff/login?next=" + nxt, data=body, content_type=ctype)
    count_case("staff sign-in")
    check_response(resp, "staff login")
    assert resp.status_code != 302  # no such user: never signed in


@pytest.fixture
def staff_client(hostile_app: Flask) -> FlaskClient:
    """A signed-in staff member and one stored request to act on."""
    with hostile_app.extensions["forms_db"].write_session() as s:
        s.add(StaffUser(username="hardening", password_hash=generate_password_hash(
            "correct horse battery", method=hostile_app.config["PASSWORD_HASH_METHOD"])))
    client = hostile_app.test_client()
    token = csrf_token(client.get("/staff/login").data)
    resp = client.post("/staff/login", data={"csrf_token": token, "username": "hardening",
                                             "password": "correct horse battery"})
    assert resp.status_code == 302, resp.status_code
    page = client.get("/apply/second_opinion")
    fields = valid_fields(hostile_app, "second_opinion")
    fields["csrf_token"] = csrf_token(page.data)
    resp = client.post("/apply/second_opinion", data=fields)
    assert resp.status_code == 303
    client.reference = resp.headers["Location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    return client


def test_staff_forms_survive_hostile_input(hostile_app: Flask, staff_client: FlaskClient
                                           ) -> None:
    @given(data=st.data())
    @PROFILE
    def run(data: st.DataObject) -> None:
        staff_example(staff_client, data)

    run()
    assert_store_consistent(hostile_app)


def staff_example(staff_client: FlaskClient, data: st.DataObject) -> None:
    ref = staff_client.reference  # type: ignore[attr-defined]
    page = staff_client.get(f"/staff/requests/{ref}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    actions = sorted(set(re.findall(r'action="(/staff/requests/[^"]+)"', html)))
    assert actions, "the request page has forms"
    action = data.draw(st.sampled_from(actions + [f"/staff/requests/{ref}/events/nope"]))
    names = sorted(set(re.findall(r'name="([a-z_]+)"', html)) - {"csrf_token"})
    pairs: list[tuple[str, str | bytes]] = []
    for name in data.draw(st.lists(st.sampled_from(names), max_size=6, unique=True)):
        value = data.draw(st.one_of(HOSTILE_TEXT, HOSTILE_DATE), name)
        pairs.append((name, value))
    mode = data.draw(st.sampled_from(CSRF_MODES))
    csrf = csrf_value(mode, csrf_token(page.data))
    if csrf is not None:
        pairs.append(("csrf_token", csrf))
    body, ctype = encode_multipart(pairs, [])
    resp = staff_client.post(action, data=body, content_type=ctype)
    count_case("staff form")
    check_response(resp, f"staff {action}")
    assert_no_injected_markup(resp.data)
