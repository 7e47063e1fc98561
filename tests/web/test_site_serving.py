"""The built site as the app serves it: precompressed files, caching by content hash, ETags
from the bytes, the site's own CSP, no cookies varying anything, the app's pages untouched."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest

PAGE = "<!doctype html><title>首页</title><p>" + "恶性肿瘤患者就医全流程服务。" * 200
CSS = "body{color:#123}" * 50


def write_site(root: Path) -> None:
    (root / "stylesheets").mkdir(parents=True)
    for rel, text in {"index.html": PAGE, "faq/index.html": PAGE,
                      "stylesheets/extra.0123abcd.min.css": CSS,
                      "404.html": "<!doctype html><title>404</title><script>x()</script>"}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        (root / (rel + ".gz")).write_bytes(gzip.compress(data))
        (root / (rel + ".br")).write_bytes(brotli.compress(data))
    (root / "csp-hashes.json").write_text(json.dumps({"script-src": ["'sha256-abc='"]}))
    (root / "asset-manifest.json").write_text(
        json.dumps({"stylesheets/extra.css": "stylesheets/extra.0123abcd.min.css"}))


@pytest.fixture
def site_app(make_app, tmp_path: Path):
    root = tmp_path / "built-site"
    write_site(root)
    return make_app(SITE_DIR=str(root)), root


def test_precompressed_files_are_served_to_clients_that_accept_them(site_app) -> None:
    app, _root = site_app
    client = app.test_client()
    br = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.status_code == 200 and br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data).decode() == PAGE
    gz = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data).decode() == PAGE
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers and plain.data.decode() == PAGE
    assert len(br.data) < len(plain.data) / 5
    assert br.headers["Vary"] == "Accept-Encoding"  # never Cookie on static files


def test_hashed_assets_are_immutable_for_a_year_and_pages_revalidate(site_app) -> None:
    app, _root = site_app
    client = app.test_client()
    css = client.get("/stylesheets/extra.0123abcd.min.css")
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    page = client.get("/faq/")
    assert page.headers["Cache-Control"] == "no-cache"
    etag = page.headers["ETag"]
    again = client.get("/faq/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert "Set-Cookie" not in page.headers and "Cookie" not in page.headers.get("Vary", "")


def test_etags_follow_the_bytes_not_the_build_time(make_app, tmp_path: Path) -> None:
    root = tmp_path / "built-site"
    write_site(root)
    first = make_app(SITE_DIR=str(root)).test_client().get("/faq/").headers["ETag"]
    page = root / "faq" / "index.html"
    os.utime(page, (page.stat().st_atime + 3600, page.stat().st_mtime + 3600))  # a rebuild
    same = make_app(SITE_DIR=str(root)).test_client().get("/faq/").headers["ETag"]
    page.write_text(PAGE + "改")
    changed = make_app(SITE_DIR=str(root)).test_client().get("/faq/").headers["ETag"]
    assert first == same != changed


def test_site_pages_carry_the_site_csp_and_app_pages_their_own(site_app) -> None:
    app, _root = site_app
    client = app.test_client()
    page = client.get("/")
    assert "'sha256-abc='" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in page.headers
    form = client.get("/apply/")
    assert "sha256" not in form.headers["Content-Security-Policy"]
    assert form.headers["Cache-Control"] == "no-store"
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "'sha256-abc='" in \
        missing.headers["Content-Security-Policy"]  # the site's 404 page, with its script


def test_app_pages_use_the_hashed_stylesheet(site_app) -> None:
    app, _root = site_app
    html = app.test_client().get("/apply/").get_data(as_text=True)
    assert "/stylesheets/extra.0123abcd.min.css" in html
    assert 'href="/stylesheets/extra.css"' not in html


def test_an_app_404_without_a_site_gets_the_app_csp(client) -> None:
    missing = client.get("/apply/no-such-service")
    assert missing.status_code == 404
    assert "unsafe-inline" not in missing.headers["Content-Security-Policy"]


def test_folder_without_slash_is_redirected(site_app) -> None:
    app, _root = site_app
    resp = app.test_client().get("/faq")
    assert resp.status_code in (301, 302)
    assert urljoin("http://localhost/faq", resp.headers["Location"]) == "http://localhost/faq/"
