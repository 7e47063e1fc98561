"""Fixtures every test folder may use: the app (one factory for all), its test client, the app
on both databases, the content's rules, Chromium and PostgreSQL. Folders add their own."""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import is_hypothesis_test
from sqlalchemy import create_engine, text

from forms_app.content import rules_for
from service_rules import Rules
from tests.support.apps import build_app
from tests.support.forms import hidden, post_form, valid_data

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
CHROMIUM = Path("/usr/bin/chromium")
POSTGRES_URL = os.environ.get("DATABASE_TEST_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Chromium 156 preloads a WebUI omnibox popup (two hidden renderers) for every new window, that
# is for every browser context a test opens: about 1.2 core-seconds each, more than the pages a
# conversation test drives. No page under test has an address bar.
BROWSER_UI_OFF = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")

AppFactory = Callable[..., Flask]


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("slow"):
        return 0
    if is_hypothesis_test(getattr(item, "obj", None)):
        return 1
    if item.get_closest_marker("browser"):
        return 2
    return 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: slow, then property, then browser tests (collection order within
    each). `make test` runs `pytest -n 3 --dist loadfile --no-loadscope-reorder`: each test
    module is a unit of work that one worker runs whole (its module fixtures, a Chromium, a
    built site, set up once), taken in this order by whichever worker is free, so the modules
    with the longest tests start at once and the workers end together (longest-first). The
    default `--dist load` hands each worker a quarter of its share in one go, which put most
    of the long tests on one worker."""
    items.sort(key=_start_order)


# Every test builds an app (Jinja environment, URL map, engine) that becomes garbage in reference
# cycles, so the young generation fills fast and Python's default thresholds (700, 10, 10) ran a
# full collection of the whole heap (imports, content, Hypothesis) about every 12 tests: up to
# 0.45 s each and a sixth of a worker's CPU. What is imported and collected before the first
# test is frozen (never garbage, never traversed again) and the young generation made larger.
GC_THRESHOLDS = (10_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return rules_for(CONTENT)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of content/ that a test may edit freely."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """make_app(**config) -> an app on SQLite in tmp_path with `TestConfig` and `config` on
    top. Apps made in one test share the folder, so they share the database and uploads."""
    apps: list[Flask] = []
    keys: dict[str, Any] = {}

    def factory(**config: Any) -> Flask:
        app = build_app(tmp_path, **{**keys, **config})
        # later apps of the same test read what the first one encrypted
        keys.setdefault("DATA_KEY", app.config["DATA_KEY"])
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["forms_db"].dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, make_app: AppFactory) -> Flask:
    """The app on SQLite and on PostgreSQL (storage tests run on both)."""
    if request.param == "sqlite":
        return make_app()
    return make_app(DATABASE_URL=request.getfixturevalue("pg_schema_url"))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    return str(CHROMIUM)


def disabled_features(arguments: list[str]) -> list[str]:
    """The features a Chromium command line turns off (Chromium reads only its last switch)."""
    switches = [a for a in arguments if a.startswith("--disable-features=")]
    return switches[-1].partition("=")[2].split(",") if switches else []


@pytest.fixture(scope="session")
def playwright(chromium_path: str) -> Iterator[Any]:
    """One Playwright driver per test process (starting one costs about half a core-second)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium_args(chromium_path: str, playwright: Any) -> list[str]:
    """CHROMIUM_ARGS with BROWSER_UI_OFF turned off as well as what Playwright turns off: a
    second --disable-features would replace Playwright's, so its list is read from one launch."""
    probe = playwright.chromium.launch(executable_path=chromium_path,
                                       args=[*CHROMIUM_ARGS, "--enable-automation"])
    session = probe.new_browser_cdp_session()
    arguments = session.send("Browser.getBrowserCommandLine")["arguments"]
    probe.close()
    features = [*disabled_features(arguments), *BROWSER_UI_OFF]
    return [*CHROMIUM_ARGS, "--disable-features=" + ",".join(dict.fromkeys(features))]


@pytest.fixture(scope="session")
def _chromium(chromium_path: str, chromium_args: list[str], playwright: Any
              ) -> Iterator[Callable[[], Any]]:
    """The test process's Chromium, launched again if it has crashed."""
    launched: list[Any] = []

    def current() -> Any:
        if not launched or not launched[0].is_connected():
            launched[:] = [playwright.chromium.launch(executable_path=chromium_path,
                                                      args=chromium_args)]
        return launched[0]

    yield current
    if launched and launched[0].is_connected():
        launched[0].close()


@pytest.fixture(scope="module")
def browser(_chromium: Callable[[], Any]) -> Iterator[Any]:
    """Debian's Chromium, headless; each test opens its own pages in contexts of its own. One
    Chromium serves every module of a test process (a Playwright driver and a Chromium cost
    about 0.8 core-s to start); what a module left open is closed when it ends, so no module
    sees another's pages."""
    launched = _chromium()
    yield launched
    for context in list(launched.contexts):
        context.close()


def postgres_available() -> bool:
    try:
        import psycopg

        url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the test PostgreSQL; skipped when unreachable unless REQUIRE_POSTGRES=1 (CI)."""
    if postgres_available():
        return POSTGRES_URL
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1); {POSTGRES_URL} is unreachable")
    pytest.skip("PostgreSQL is not reachable: skipping PostgreSQL tests")


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, dropped afterwards; the URL selects it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# -- filling the service forms --------------------------------------------------------
@pytest.fixture
def fresh_form(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """GET a service's form: its CSRF token and submission token."""

    def get(service_id: str, c: FlaskClient | None = None) -> dict[str, str]:
        resp = (c or client).get(f"/apply/{service_id}")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        return {"csrf_token": hidden(html, "csrf_token"),
                "submission_token": hidden(html, "submission_token")}

    return get


@pytest.fixture
def submit(client: FlaskClient, rules: Rules, fresh_form: Callable[..., dict[str, str]]
           ) -> Callable[..., Any]:
    """Fill and POST a service's form: valid data unless overridden."""

    def do(service_id: str, use_choice: str | None = None, c: FlaskClient | None = None,
           **overrides: Any) -> Any:
        data = valid_data(rules, service_id, use_choice)
        for key, value in overrides.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return post_form(c or client, service_id, fresh_form(service_id, c), data)

    return do
