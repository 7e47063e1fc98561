"""Security headers, cookies, CSRF on every form, rate limits, the opt-in bench endpoint and
encryption-key rotation (in-process, Flask test client)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_app.storage.crypto import Crypto, InvalidToken, new_key
from forms_app.storage.models import Outbox, RequestDocument, ServiceRequest
from forms_app.web.headers import BENCH_PATH, build_csp, site_script_hashes
from tests.support.gunicorn_harness import (
    PDF_BYTES,
    SUBMIT_PATH,
    csrf_token,
    encode_multipart,
    reference_from,
    second_opinion_submission,
)

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def submit(client: FlaskClient, **kw: object):
    page = client.get(SUBMIT_PATH).data
    sub = second_opinion_submission(csrf_token(page), **kw)  # type: ignore[arg-type]
    body, ctype = encode_multipart(sub.fields, sub.files)
    resp = client.post(SUBMIT_PATH, data=body, content_type=ctype)
    return sub, resp


# -- headers ------------------------------------------------------------------------------
APP_PAGES = ["/apply/", "/apply/second_opinion", "/apply/direct_billing", "/status/",
             "/staff/login", "/api/services", "/api/openapi.json"]


@pytest.mark.parametrize("path", APP_PAGES)
def test_app_pages_carry_a_strict_policy(make_app, path: str) -> None:
    client = make_app().test_client()
    resp = client.get(path)
    assert resp.status_code == 200, path
    csp = directives(resp.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in resp.headers["Cache-Control"]
    assert "Strict-Transport-Security" not in resp.headers  # not in development


def test_app_pages_have_no_inline_script_or_style(make_app) -> None:
    """What the strict policy would block: inline <script>, on* handlers, style attributes,
    javascript: URLs, and any script, style or image from another host."""
    app = make_app()
    client = app.test_client()
    sub, resp = submit(client)
    confirmation = resp.headers["Location"]
    pages = [*APP_PAGES[:5], confirmation]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        soup = BeautifulSoup(resp.data, "html.parser")
        for tag in soup.find_all(True):
            assert not any(a.lower().startswith("on") for a in tag.attrs), (path, tag.name)
            assert "style" not in tag.attrs, (path, str(tag)[:80])
            for attr in ("src", "href", "action"):
                value = str(tag.get(attr, ""))
                assert not value.lower().startswith("javascript:"), (path, value)
                assert not re.match(r"^(https?:)?//", value) or tag.name == "a", (path, value)
        for script in soup.find_all("script"):
            assert script.get("src") or script.get("type") == "application/json", \
                (path, str(script)[:80])
        assert not soup.find_all("style"), path


@pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="site not built (make site)")
def test_site_pages_allow_exactly_their_inline_scripts(make_app) -> None:
    app = make_app(SITE_DIR=str(SITE))
    client = app.test_client()
    hashes = site_script_hashes(SITE)
    assert hashes, "the site build writes csp-hashes.json"
    checked = 0
    for page in ["/", "/services/green_channel/", "/hospitals/", "/faq/", "/no-such-page"]:
        resp = client.get(page)
        assert resp.status_code in (200, 404)
        csp = directives(resp.headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in csp["script-src"]
        assert "'unsafe-eval'" not in csp["script-src"]
        soup = BeautifulSoup(resp.data, "html.parser")
        for script in soup.find_all("script"):
            if script.get("src") or script.get("type") == "application/json":
                continue
            digest = base64.b64encode(hashlib.sha256(script.string.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp["script-src"], (page, script.string[:60])
            checked += 1
    assert checked > 0


def test_hashes_file_cannot_inject_directives(tmp_path: Path) -> None:
    (tmp_path / "csp-hashes.json").write_text(json.dumps({"script-src": [
        "'sha256-abc='", "'unsafe-inline'", "'sha256-x=' https://evil.example", "x; script-src *",
    ]}))
    assert site_script_hashes(tmp_path) == ["'sha256-abc='"]
    assert site_script_hashes(tmp_path / "missing") == []
    assert "'unsafe-inline'" not in directives(build_csp(["'sha256-abc='"]))["script-src"]


def test_production_adds_hsts_and_secure_cookies(make_app) -> None:
    app = make_app(PRODUCTION=True)
    client = app.test_client()
    resp = client.get("/apply/second_opinion")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_session_cookie_is_httponly_and_lax(make_app) -> None:
    resp = make_app().test_client().get("/apply/second_opinion")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on a developer's machine


# -- CSRF on every form ---------------------------------------------------------------------
def test_every_form_refuses_a_post_without_csrf_token(make_app) -> None:
    app = make_app()
    client = app.test_client()
    client.get("/apply/second_opinion")  # a session exists, but the token is not sent
    db = app.extensions["forms_db"]
    service_ids = list(app.extensions["forms_rules"].content.service_by_id)
    for service_id in service_ids:
        sub = second_opinion_submission("")
        fields = [(k, v) for k, v in sub.fields if k != "csrf_token"]
        body, ctype = encode_multipart(fields, sub.files)
        resp = client.post(f"/apply/{service_id}", data=body, content_type=ctype)
        assert resp.status_code == 400, service_id
        assert "重新" in resp.get_data(as_text=True)  # the plain message, form shown again
    resp = client.post("/status/", data={"reference": "ABCD2345", "last4": "002X"})
    assert resp.status_code == 400
    resp = client.post("/staff/login", data={"username": "admin", "password": "x" * 12})
    assert resp.status_code in (400, 422)
    assert resp.status_code != 302
    with db.read_session() as s:
        assert s.scalar(select(ServiceRequest.id)) is None


# -- rate limits ------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "config"), [
    ("/status/", {"STATUS_RATE_LIMIT": "3 per minute"}),
    ("/apply/second_opinion", {"SUBMIT_RATE_LIMIT": "3 per minute"}),
    ("/staff/login", {"STAFF_LOGIN_RATE_LIMIT": "3 per minute"}),
])
def test_rate_limits_answer_with_a_friendly_429(make_app, path: str, config: dict) -> None:
    app = make_app(RATELIMIT_ENABLED=True, **config)
    client = app.test_client()
    token = csrf_token(client.get(path).data)  # a real attacker has a valid token
    codes = []
    for _ in range(5):
        resp = client.post(path, data={"csrf_token": token, "reference": "ABCD2345",
                                       "last4": "1234", "username": "nobody",
                                       "password": "x" * 12})
        codes.append(resp.status_code)
    assert codes[:3].count(429) == 0 and codes[3:] == [429, 429], codes
    text = resp.get_data(as_text=True)
    assert "尝试次数太多" in text
    # GETs of the same pages are not limited
    assert client.get(path).status_code == 200
    assert codes[0] != 500


# -- benchmark endpoint -------------------------------------------------------------------------
def test_bench_endpoint_exists_only_when_asked_for(make_app, monkeypatch) -> None:
    monkeypatch.delenv("BENCHMARK_ENDPOINTS", raising=False)
    plain = make_app().test_client()
    assert plain.post(BENCH_PATH, data={"a": "b"}).status_code in (404, 405)
    bench = make_app(BENCHMARK_ENDPOINTS=True).test_client()
    body, ctype = encode_multipart([("a", "bc")], [("f", "x.pdf", PDF_BYTES, "application/pdf")])
    resp = bench.post(BENCH_PATH, data=body, content_type=ctype)
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == f"ok {2 + len(PDF_BYTES)}\n"


# -- key rotation ---------------------------------------------------------------------------
def _rotate(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["rotate-keys"])


def test_key_rotation_keeps_old_data_readable_and_reencrypts_everything(make_app) -> None:
    old, new = new_key(), new_key()
    app1 = make_app(DATA_KEY=old)
    sub1, resp = submit(app1.test_client())
    ref1 = reference_from(resp.status_code, {"location": resp.headers["Location"]})
    assert ref1
    with app1.extensions["forms_db"].write_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == ref1))
        s.add(Outbox(request_id=req.id, channel="sms",
                     recipient_enc=app1.extensions["forms_crypto"].encrypt_text(sub1.phone),
                     recipient_masked="138****0000", body="测试"))

    # 1. the new key goes in front: old data still reads, new data uses the new key
    app2 = make_app(DATA_KEY=f"{new},{old}")
    crypto2: Crypto = app2.extensions["forms_crypto"]
    upload_dir = Path(app2.config["UPLOAD_DIR"])
    sub2, resp = submit(app2.test_client())
    ref2 = reference_from(resp.status_code, {"location": resp.headers["Location"]})
    assert ref2
    with app2.extensions["forms_db"].read_session() as s:
        rows = {r.reference: r for r in s.scalars(select(ServiceRequest))}
        assert crypto2.decrypt_text(rows[ref1].id_number_enc) == sub1.id_number
        assert crypto2.decrypt_text(rows[ref2].id_number_enc) == sub2.id_number
        only_new = Crypto(new, "hash-key")
        with pytest.raises(InvalidToken):
            only_new.decrypt_text(rows[ref1].id_number_enc)
        assert only_new.decrypt_text(rows[ref2].id_number_enc) == sub2.id_number

    # 2. rotate-keys re-encrypts every value and every file under the new key
    result = _rotate(app2)
    assert result.exit_code == 0, result.output

    # 3. the old key is dropped: everything still reads, status lookup still works
    app3 = make_app(DATA_KEY=new)
    crypto3: Crypto = app3.extensions["forms_crypto"]
    only_old = Crypto(old, "hash-key")
    with app3.extensions["forms_db"].read_session() as s:
        for req in s.scalars(select(ServiceRequest)):
            for token in (req.id_number_enc, req.phone_enc, req.applicant_phone_enc):
                if token:
                    crypto3.decrypt_text(token)
                    with pytest.raises(InvalidToken):
                        only_old.decrypt_text(token)
        for doc in s.scalars(select(RequestDocument)):
            blob = (upload_dir / doc.stored_name).read_bytes()
            data = crypto3.decrypt_file(blob, doc.stored_name)
            assert hashlib.sha256(data).hexdigest() == doc.sha256
            with pytest.raises(InvalidToken):
                only_old.decrypt_file(blob, doc.stored_name)
        for row in s.scalars(select(Outbox)):  # the submission messages and the one above
            assert crypto3.decrypt_text(row.recipient_enc) in {sub1.phone, sub2.phone}
    client = app3.test_client()
    page = client.get("/status/").data
    resp = client.post("/status/", data={"csrf_token": csrf_token(page), "reference": ref1,
                                         "last4": sub1.id_number[-4:]}, follow_redirects=True)
    assert resp.status_code == 200
    # no stray temporary files from the rotation
    assert all(p.name.isalnum() for p in upload_dir.iterdir())


@pytest.mark.parametrize("proxies", [0, 1])
def test_rate_limits_count_per_client_behind_a_trusted_proxy(make_app, proxies: int) -> None:
    """Behind a load balancer every request comes from its address: with TRUSTED_PROXIES=1
    the limit counts per forwarded client; without it the forwarded header is ignored (a
    client cannot forge it to escape the limit)."""
    app = make_app(RATELIMIT_ENABLED=True, STATUS_RATE_LIMIT="2 per minute",
                   TRUSTED_PROXIES=proxies)
    client = app.test_client()
    token = csrf_token(client.get("/status/").data)
    form = {"csrf_token": token, "reference": "ABCD2345", "last4": "1234"}

    def lookup(ip: str) -> int:
        return client.post("/status/", data=form,
                           headers={"X-Forwarded-For": ip}).status_code

    first = [lookup("203.0.113.7") for _ in range(3)]
    other = lookup("198.51.100.9")
    assert first[:2] == [404, 404] and first[2] == 429
    assert other == (404 if proxies else 429)
