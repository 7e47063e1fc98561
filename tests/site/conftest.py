"""Site fixtures: one build of the real content per test session, a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator

import pytest
from builtsite import PHONE, ROOT, Site, build_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The site built from the repository's content into a temporary folder."""
    return build_site(ROOT / "content", tmp_path_factory.mktemp("site"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def served_site(site: Site) -> Iterator[str]:
    """Base URL of a local HTTP server (a thread) serving the built site."""
    handler = functools.partial(QuietHandler, directory=str(site.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def phone(browser) -> Iterator[object]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
