"""The site is light on a phone: precompressed files, only the assets a page uses (minified,
under hashed names), the search index only when the search is opened, and search that finds
parts of names. Build checks read the built files; browser checks run Debian's Chromium."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import brotli
import pytest
from bs4 import BeautifulSoup
from builtsite import ROOT, Site

from build_scripts.assets import IMMUTABLE_NAME
from build_scripts.compress import COMPRESSIBLE, MIN_SIZE, precompress


def page_files(site: Site) -> list[Path]:
    return sorted(site.root.rglob("*.html"))


def linked(site: Site, page: Path, selector: str, attribute: str) -> list[str]:
    """Site-relative paths of the page's <link>/<script> targets, in document order."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    base = "http://site/" + page.relative_to(site.root).as_posix()
    return [urlsplit(urljoin(base, el[attribute])).path.lstrip("/")
            for el in soup.select(selector)]


# -- precompressed files ----------------------------------------------------------------------
def test_every_compressible_file_has_gzip_and_brotli_that_decompress_to_it(site: Site) -> None:
    checked = 0
    for path in site.root.rglob("*"):
        if not path.is_file() or path.suffix in {".gz", ".br"}:
            continue
        data = path.read_bytes()
        gz, br = path.with_name(path.name + ".gz"), path.with_name(path.name + ".br")
        if path.suffix.lower() in {".html", ".css", ".js", ".json"} and len(data) >= 1024:
            assert gz.is_file() and br.is_file(), path  # text of any size worth it compresses
        if gz.is_file() and path.name != "sitemap.xml":  # MkDocs writes its own sitemap.gz
            assert gzip.decompress(gz.read_bytes()) == data, gz
            assert gz.stat().st_size < len(data), gz
            checked += 1
        if br.is_file():
            assert brotli.decompress(br.read_bytes()) == data, br
            assert br.stat().st_size < len(data), br
    assert checked > 50


def test_a_rebuild_compresses_a_changed_file_anew_and_an_unchanged_one_alike(tmp_path: Path
                                                                            ) -> None:
    (tmp_path / "a.html").write_text("<p>第一版</p>" * 100, encoding="utf-8")
    (tmp_path / "b.css").write_text("body { color: #333; }\n" * 100, encoding="utf-8")
    precompress(tmp_path)
    first_b = (tmp_path / "b.css.br").read_bytes()
    (tmp_path / "a.html").write_text("<p>第二版</p>" * 100, encoding="utf-8")
    report = precompress(tmp_path)
    assert report.files == 2 and report.gzip_written == report.brotli_written == 2
    for name in ("a.html", "b.css"):
        data = (tmp_path / name).read_bytes()
        assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == data
        assert brotli.decompress((tmp_path / f"{name}.br").read_bytes()) == data
    assert (tmp_path / "b.css.br").read_bytes() == first_b


def test_nothing_is_compressed_that_gains_nothing(site: Site) -> None:
    for path in site.root.rglob("*"):
        if path.suffix in {".gz", ".br"} and path.name != "sitemap.xml.gz":
            original = path.with_suffix("")
            assert original.suffix.lower() in COMPRESSIBLE, path  # no .png.gz
            assert original.stat().st_size >= MIN_SIZE, path


def test_the_home_page_is_small_on_the_wire(site: Site) -> None:
    html = (site.root / "index.html").read_bytes()
    assert len((site.root / "index.html.br").read_bytes()) < len(html) / 3


# -- each page loads what it uses ---------------------------------------------------------------
def test_hospitals_script_is_loaded_by_the_hospitals_page_only(site: Site) -> None:
    users = {}
    for page in page_files(site):
        scripts = [s for s in linked(site, page, "script[src]", "src") if "hospitals" in s]
        if scripts:
            users[page.relative_to(site.root).as_posix()] = scripts
    assert list(users) == ["hospitals/index.html"]
    (script,) = users["hospitals/index.html"]
    assert re.fullmatch(r"javascripts/hospitals\.[0-9a-f]{8}\.min\.js", script)
    assert (site.root / script).is_file()


def test_pages_link_only_the_theme_and_site_stylesheets(site: Site) -> None:
    """No palette.css (the colours are extra.css's variables); every link is a hashed name."""
    for page in page_files(site):
        sheets = linked(site, page, 'link[rel="stylesheet"]', "href")
        assert len(sheets) == 2, (page, sheets)
        assert re.fullmatch(r"assets/stylesheets/main\.[0-9a-f]{8}\.min\.css", sheets[0])
        assert re.fullmatch(r"stylesheets/extra\.[0-9a-f]{8}\.min\.css", sheets[1])
        assert not any("palette" in s for s in sheets)


def test_own_assets_are_minified_under_their_content_hash(site: Site) -> None:
    referenced: set[str] = set()
    for page in page_files(site):
        referenced |= set(linked(site, page, 'link[rel="stylesheet"]', "href"))
        referenced |= set(linked(site, page, "script[src]", "src"))
    own = sorted(r for r in referenced if r.startswith(("stylesheets/", "javascripts/")))
    assert len(own) == 2, own
    for rel in own:
        assert IMMUTABLE_NAME.search(rel), rel
        data = (site.root / rel).read_bytes()
        digest = re.search(r"\.([0-9a-f]{8})\.min\.", rel).group(1)
        assert hashlib.sha256(data).hexdigest()[:8] == digest, rel
        source_name = re.sub(r"\.[0-9a-f]{8}\.min(\.\w+)$", r"\1", rel)
        source = (ROOT / "docs" / source_name).read_text(encoding="utf-8")
        text = data.decode("utf-8")
        assert len(text) < 0.85 * len(source), rel
        assert "/*" not in text and "\n  " not in text, rel  # comments and indentation gone
    # every file a page refers to exists (Material's bundles match the contract too)
    for rel in referenced:
        assert (site.root / rel).is_file(), rel
        assert IMMUTABLE_NAME.search(rel), rel


def test_pages_use_the_sites_search_worker(site: Site) -> None:
    worker = None
    for page in page_files(site):
        config = re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                           page.read_text(encoding="utf-8"), re.S).group(1)
        match = re.search(r'"search": "([^"]+)"', config)
        name = match.group(1).rsplit("/", 1)[1]
        assert re.fullmatch(r"cc-search\.[0-9a-f]{8}\.min\.js", name), page
        worker = worker or name
        assert name == worker
    body = (site.root / "assets/javascripts/workers" / worker).read_text(encoding="utf-8")
    imported = re.search(r'importScripts\("([^"]+)"\)', body).group(1)
    assert (site.root / "assets/javascripts/workers" / imported).is_file()


# -- in the browser, with the site's Content-Security-Policy -----------------------------------
class CSPHandler(http.server.SimpleHTTPRequestHandler):
    """The built site with the CSP the request app sends with it (forms_app's site policy)."""

    csp = ""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def csp_site(site: Site) -> Iterator[str]:
    from forms_app.web.headers import build_csp, site_script_hashes

    handler = type("Handler", (CSPHandler,),
                   {"csp": build_csp(site_script_hashes(site.root), inline_styles=True)})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def watch_console(page) -> list[str]:
    """Console errors and CSP violations (each reported to the page as an event too)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective + ' ' + "
                         "e.blockedURI))")
    return errors


def open_search(page) -> None:
    """Open the search like a reader and wait until the theme says it is ready."""
    ready = page.evaluate("JSON.parse(document.getElementById('__config').textContent)"
                          ".translations['search.result.placeholder']")
    page.locator("label.md-header__button[for='__search']").click()
    page.wait_for_function(
        "t => document.querySelector('.md-search-result__meta').textContent.trim() === t",
        arg=ready, timeout=30000)


def search(page, query: str) -> list[str]:
    """Result links, best first, as the theme lists them (path#anchor, no ?h= highlight)."""
    box = page.locator("input.md-search__input")
    box.fill("")
    box.press("End")
    # a selector wait, not wait_for_function: polling a string expression needs eval, which
    # the site's CSP refuses (the wait then fails whenever the old results linger a moment)
    page.wait_for_selector(".md-search-result__item", state="detached", timeout=20000)
    box.fill(query)
    box.press("End")  # the theme searches on key events
    page.wait_for_selector(".md-search-result__item a", timeout=20000)
    hrefs = page.eval_on_selector_all(".md-search-result__item a",
                                      "links => links.map(a => a.href)")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        out.append(parts.path.lstrip("/") + (f"#{parts.fragment}" if parts.fragment else ""))
    return out


@pytest.mark.browser
def test_every_page_runs_under_the_sites_csp(site: Site, csp_site: str, phone) -> None:
    errors = watch_console(phone)
    for url in site.pages():
        phone.goto(csp_site + url, wait_until="networkidle")
        # the theme's bundle ran (it swaps no-js for js on <html>) and drew its header
        assert phone.evaluate("document.documentElement.classList.contains('js')"), url
    phone.goto(csp_site + "hospitals/", wait_until="networkidle")
    assert phone.locator("#cc-hospital-filter").is_visible()  # hospitals.js ran
    open_search(phone)  # the search worker and the index load under the policy
    assert search(phone, "直付")
    assert errors == []


@pytest.mark.browser
def test_search_index_is_fetched_when_the_search_is_opened(site: Site, csp_site: str,
                                                           phone) -> None:
    requests: list[str] = []
    phone.on("request", lambda r: requests.append(r.url))
    phone.goto(csp_site + "services/green_channel/", wait_until="networkidle")
    phone.wait_for_timeout(500)
    assert not any("search_index.json" in r for r in requests)
    open_search(phone)
    fetched = [r for r in requests if "search_index.json" in r]
    assert fetched == [csp_site + "search/search_index.json"]


@pytest.mark.browser
def test_search_finds_parts_of_names_and_terms(site: Site, csp_site: str, phone) -> None:
    content = site.rules.content
    xiehe = [h for h in content.hospitals if "协和" in h.name]
    assert len(xiehe) >= 3  # Beijing, Fuzhou, Wuhan
    phone.goto(csp_site)
    open_search(phone)

    found = search(phone, "协和")
    for hospital in xiehe:  # a part of each name finds its city's section
        assert f"hospitals/#{hospital.city}" in found, (hospital.name, found)

    # a whole name finds its section first, not every 北京 section
    beijing = next(h for h in xiehe if h.city == "beijing")
    assert search(phone, beijing.name)[:2] == ["hospitals/", "hospitals/#beijing"]

    # 住院条 is a word of its own: only sections that say 住院条, not every 住院 section
    found = search(phone, "住院条")
    assert found and all(site_section_text(site, link).count("住院条") for link in found
                         if "#" in link), found
    assert any(link.startswith("services/green_channel/") for link in found)

    # a part of a service name: 诊疗意见 (of 第二诊疗意见) finds that service's page first
    second = next(s for s in content.services if "诊疗意见" in s.name)
    assert search(phone, "诊疗意见")[0] == f"services/{second.id}/"

    # whole words keep working
    for service in content.services:
        assert f"services/{service.id}/" in search(phone, service.short_name), service.id


def site_section_text(site: Site, link: str) -> str:
    """Text of the section a result links to (path#anchor), heading included."""
    path, anchor = link.split("#", 1)
    heading = site.article(path).find(id=anchor)
    assert heading is not None, link
    return heading.get_text() + " " + site.section(path, anchor)
