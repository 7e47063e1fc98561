"""The built site as a phone's browser receives it from the production server (`make serve`):
pages and assets compressed (brotli), hashed assets cached for a year as immutable, pages
revalidated, the connection kept alive, the site's CSP obeyed (no violation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.gunicorn_harness import ProductionServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SITE = ROOT / "site"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProductionServer]:
    if not (SITE / "index.html").is_file():
        pytest.fail("the site is not built (make site runs before the tests)")
    with ProductionServer(tmp_path, env={"SITE_DIR": str(SITE)}) as srv:
        yield srv


def test_a_phone_gets_compressed_cached_pages(server: ProductionServer, browser) -> None:
    answers: dict[str, dict[str, str]] = {}
    page = browser.new_page(viewport={"width": 390, "height": 844})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: answers.__setitem__(r.url, r.all_headers()))
    page.goto(f"{server.base_url}/services/green_channel/")
    page.wait_for_load_state("networkidle")
    page.close()
    html = answers[f"{server.base_url}/services/green_channel/"]
    assert html["content-encoding"] == "br"
    assert html["cache-control"] == "no-cache" and html.get("etag")
    assert "cookie" not in html.get("vary", "").lower()
    hashed = [h for url, h in answers.items()
              if re.search(r"\.[0-9a-f]{8,}\.min\.(css|js)$", url)]
    assert hashed and all(h["cache-control"] == "public, max-age=31536000, immutable"
                          and h["content-encoding"] == "br" for h in hashed)
    assert violations == []


def test_connections_are_kept_alive(server: ProductionServer) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for path in ("/", "/faq/", "/apply/"):
            conn.request("GET", path, headers={"Accept-Encoding": "br"})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200 and resp.getheader("Connection", "") != "close"
    finally:
        conn.close()
