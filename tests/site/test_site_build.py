"""The build as a whole: a content change reaches every page, nothing comes from another host,
search finds our words, content errors stop the build with a Chinese message, CSP hashes."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from builtsite import ROOT, Site, build_site
from ruamel.yaml import YAML

from service_rules.wording import promise_sentence


def squash(text: str) -> str:
    return "".join(text.split())


def page_texts(site: Site) -> dict[str, str]:
    return {url: squash(site.text(url)) for url in site.pages()}


# -- a promise changed in the content changes every page that states it -----------------
def test_changing_a_promise_changes_every_page_that_states_it(
        site: Site, content_copy: Path, tmp_path: Path) -> None:
    content = site.rules.content
    service, promise = next((s, p) for s in content.services for p in s.promises
                            if p.working_days == 5)
    old = squash(promise_sentence(content, promise))
    before = page_texts(site)
    stating = {url for url, text in before.items() if old in text}
    assert f"services/{service.id}/" in stating and "" in stating, stating

    yaml = YAML()
    path = content_copy / "services.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    target = next(p for s in data["services"] if s["id"] == service.id
                  for p in s["promises"] if p["id"] == promise.id)
    target["working_days"] = 7
    # the check refuses prose that still states the old number: change it as an editor must
    svc = next(s for s in data["services"] if s["id"] == service.id)
    for step in svc["flow"]:
        step["detail"] = step["detail"].replace("5个工作日", "7个工作日")
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)

    changed = build_site(content_copy, tmp_path)
    new_promise = changed.rules.content.service(service.id).promise(promise.id)
    assert new_promise.working_days == 7
    new = squash(promise_sentence(changed.rules.content, new_promise))
    after = page_texts(changed)
    for url in stating:
        assert old not in after[url], url
        assert new in after[url], url
        # and the badge beside the flow step says 7 too
    badges = changed.article(f"services/{service.id}/").select(".cc-badge")
    assert any(new in squash(b.get_text()) for b in badges)
    assert not any(old in squash(b.get_text()) for b in badges)
    # pages that did not state the promise do not start stating it
    assert {url for url, text in after.items() if new in text} == stating


# -- nothing from another host ------------------------------------------------------------
URL_ATTRS = ("src", "href", "action", "poster", "data", "formaction", "manifest")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""", re.I)


def is_other_host(url: str) -> bool:
    url = url.strip()
    if url.startswith(("tel:", "mailto:", "data:", "#", "javascript:void")):
        return False
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "tel", "mailto", "data")


def references(site_root: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for page in site_root.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        name = page.relative_to(site_root).as_posix()
        for tag in soup.find_all(True):
            for attr in URL_ATTRS:
                if tag.has_attr(attr):
                    found.append((name, tag[attr]))
            if tag.has_attr("srcset"):
                found.extend((name, c.split()[0]) for c in tag["srcset"].split(",") if c.strip())
            if tag.has_attr("style"):
                found.extend((name, u) for u in CSS_URL.findall(tag["style"]))
        for style in soup.find_all("style"):
            css = style.get_text()
            found.extend((name, u) for u in CSS_URL.findall(css) + CSS_IMPORT.findall(css))
    for sheet in site_root.rglob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        name = sheet.relative_to(site_root).as_posix()
        found.extend((name, u) for u in CSS_URL.findall(css) + CSS_IMPORT.findall(css))
    return found


def test_reference_finder_catches_other_hosts(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example.com/a.css">'
        '<script src="//cdn.example.com/a.js"></script>'
        '<img srcset="x.png 1x, http://e.cn/y.png 2x">'
        '<style>@import "https://fonts.example.com/f.css";</style>', encoding="utf-8")
    bad = [u for _, u in references(tmp_path) if is_other_host(u)]
    assert len(bad) == 4


def test_no_page_refers_to_another_host(site: Site) -> None:
    refs = references(site.root)
    assert len(refs) > 100  # the finder did look at the pages
    bad = [(page, url) for page, url in refs if is_other_host(url)]
    assert bad == []


# -- search ---------------------------------------------------------------------------------
def search_hits(site: Site, word: str) -> set[str]:
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    hits = set()
    fields = list(index["config"]["fields"])  # the worker indexes every field listed there
    for entry in index["docs"]:
        text = " ".join(entry[f] for f in fields if isinstance(entry.get(f), str))
        tokens = re.split(index["config"]["separator"], text)
        if word in tokens:
            hits.add(entry["location"].split("#")[0])
    return hits


def test_search_index_finds_our_words_on_the_right_pages(site: Site) -> None:
    content = site.rules.content
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["zh"]
    for service in content.services:
        # every service's short name (直付, 绿通, 基因检测, 第二诊疗意见) finds its page
        assert f"services/{service.id}/" in search_hits(site, service.short_name), service.id
    billing = next(s for s in content.services if s.advance_booking)
    assert f"services/{billing.id}/" in search_hits(site, "直付")
    inpatient = next(s for s in content.services
                     if any(len(p.starts_after) > 1 for p in s.promises))
    assert f"services/{inpatient.id}/" in search_hits(site, "住院条")
    for hospital in content.hospitals:
        for name in filter(None, (hospital.name, hospital.short_name)):
            # the plugin segments runs of Han characters: 301医院 is indexed as 301 + 医院
            for word in re.findall(r"[\u4e00-\u9fff]{2,}|[0-9A-Za-z]+", name):
                assert "hospitals/" in search_hits(site, word), (name, word)


def test_short_hospital_name_finds_the_directory(site: Site) -> None:
    """北京协和医院 is one jieba word; 协和 must still find it (through the short name)."""
    hospital = next(h for h in site.rules.content.hospitals
                    if h.short_name and h.short_name in h.name and h.short_name != h.name)
    assert "hospitals/" in search_hits(site, hospital.short_name)


# -- the command line -----------------------------------------------------------------------
def test_content_error_stops_the_build_with_a_chinese_message(
        content_copy: Path, tmp_path: Path) -> None:
    path = content_copy / "services.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("working_days: 5", "working_days: 0", 1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "build_scripts", "--content", str(content_copy),
         "--docs-dir", str(tmp_path / "docs"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "services.yaml" in result.stderr and "working_days" in result.stderr
    assert re.search(r"[\u4e00-\u9fff]", result.stderr)
    assert not (tmp_path / "site").exists()


def test_new_service_missing_from_nav_is_named(content_copy: Path, tmp_path: Path) -> None:
    yaml = YAML()
    path = content_copy / "services.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    extra = copy.deepcopy(data["services"][-1])
    extra["id"] = extra["id"] + "_extra"
    data["services"].append(extra)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    result = subprocess.run(
        [sys.executable, "-m", "build_scripts", "--content", str(content_copy),
         "--docs-dir", str(tmp_path / "docs"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "mkdocs.yml" in result.stderr and f"services/{extra['id']}.md" in result.stderr


def test_repository_docs_are_untouched_by_a_separate_build(site: Site) -> None:
    """Building into a temporary docs folder copies hand-written files, writes nothing here."""
    docs = site.root.parent / "docs"
    for handwritten in (ROOT / "docs").rglob("*"):
        rel = handwritten.relative_to(ROOT / "docs")
        if handwritten.is_file() and rel.parts[0] in ("stylesheets", "javascripts"):
            assert (docs / rel).read_bytes() == handwritten.read_bytes()


@pytest.mark.parametrize("base", ["https://forms.example.cn", "https://forms.example.cn/"])
def test_apply_base_url_prefixes_apply_and_status_links(
        base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from build_scripts import render

    monkeypatch.setenv("APPLY_BASE_URL", base)
    rendered = render(ROOT / "content", tmp_path / "docs")
    page = (rendered.docs_dir / "index.md").read_text(encoding="utf-8")
    assert "https://forms.example.cn/status" in page
    assert "https://forms.example.cn/apply/" in page
    assert "https://forms.example.cn//" not in page


# -- CSP hashes of inline scripts -----------------------------------------------------------
def test_csp_hashes_cover_every_inline_script(site: Site) -> None:
    listed = set(json.loads((site.root / "csp-hashes.json").read_text(encoding="utf-8"))
                 ["script-src"])
    seen = set()
    for page in site.root.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for script in soup.find_all("script"):
            if script.has_attr("src"):
                continue
            digest = hashlib.sha256(script.string.encode("utf-8") if script.string else b"")
            seen.add(f"'sha256-{base64.b64encode(digest.digest()).decode()}'")
    assert seen, "Material pages carry inline scripts"
    assert seen == listed
