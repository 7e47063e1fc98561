"""Every page in Debian's headless Chromium at phone size (390x844), served locally.

Checks: every network request goes to the local server, nothing scrolls sideways, the hotline
is a tap-to-call link, the hospital filter works, and axe-core (bundled, offline) finds no
serious or critical accessibility violations.
"""

from __future__ import annotations

import pytest
from builtsite import PHONE, Site

pytestmark = pytest.mark.browser



def test_every_page_at_phone_size(site: Site, served_site: str, phone) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    tel = f"tel:{site.rules.content.product.hotline.tel}"
    requests: list[str] = []
    failures: list[str] = []
    phone.on("request", lambda request: requests.append(request.url))
    phone.on("requestfailed", lambda request: failures.append(request.url))
    problems: list[str] = []
    pages = site.pages()
    assert len(pages) >= 9
    for url in pages:
        response = phone.goto(served_site + url, wait_until="networkidle")
        assert response is not None and response.ok, url
        width = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width[0] > width[1]:
            problems.append(f"{url}: scrolls sideways ({width[0]} > {width[1]} px)")
        calls = phone.locator(f'article a[href="{tel}"]')
        if calls.count() == 0:
            problems.append(f"{url}: no tel: link to the hotline")
        violations = [v for v in axe.run(phone).response["violations"]
                      if v["impact"] in ("serious", "critical")]
        for v in violations:
            targets = [n["target"] for n in v["nodes"]][:3]
            problems.append(f"{url}: axe {v['impact']} {v['id']}: {v['help']} {targets}")
    assert problems == [], "\n".join(problems)
    assert requests, "the browser made requests"
    other = [r for r in requests if not r.startswith(served_site) and not r.startswith("data:")]
    assert other == []
    assert failures == []
    # nobody opened the search: its index is not fetched (partials/search_deferred.html);
    # test_site_fast.py checks that opening the search fetches it from this host
    assert not any(r.endswith("search/search_index.json") for r in requests)


def test_hotline_button_is_a_real_tap_target(site: Site, served_site: str, phone) -> None:
    service = site.rules.content.services[0]
    phone.goto(f"{served_site}services/{service.id}/")
    button = phone.locator("article a.md-button[href^='tel:']").first
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] <= PHONE["width"]
    assert site.rules.content.product.hotline.display in button.inner_text()


def test_hospital_filter_shows_one_city(site: Site, served_site: str, phone) -> None:
    content = site.rules.content
    city = next(c for c in content.cities if content.hospitals_in(c.id))
    other = next(c for c in content.cities if c.id != city.id)
    phone.goto(served_site + "hospitals/")
    assert phone.locator("#cc-hospital-filter").is_visible()  # JavaScript unhid it
    phone.select_option("#cc-city", city.id)
    assert phone.locator(f'section.cc-city[data-city="{city.id}"]').is_visible()
    assert not phone.locator(f'section.cc-city[data-city="{other.id}"]').is_visible()
    count = len(content.hospitals_in(city.id))
    assert str(count) in phone.locator("#cc-filter-count").inner_text()
    phone.select_option("#cc-city", "")
    assert phone.locator(f'section.cc-city[data-city="{other.id}"]').is_visible()
    # a link from the coverage page preselects the city
    phone.goto(f"{served_site}hospitals/#{city.id}")
    assert phone.locator("#cc-city").input_value() == city.id
    assert not phone.locator(f'section.cc-city[data-city="{other.id}"]').is_visible()


def test_hospital_directory_without_javascript(site: Site, served_site: str, browser) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(served_site + "hospitals/")
        assert not page.locator("#cc-hospital-filter").is_visible()
        for city in site.rules.content.cities:
            assert page.locator(f'section.cc-city[data-city="{city.id}"]').is_visible()
    finally:
        context.close()


def test_search_box_finds_our_words(site: Site, served_site: str, phone) -> None:
    """Chinese search in the browser: each service's short name (直付, 基因检测, 绿通,
    第二诊疗意见) finds its page, a hospital's short name (协和) finds the directory."""
    content = site.rules.content
    hospital = next(h for h in content.hospitals
                    if h.short_name and h.short_name in h.name and h.short_name != h.name)
    wanted = [(s.short_name, f"services/{s.id}/") for s in content.services]
    wanted.append((hospital.short_name, "hospitals/"))
    phone.goto(served_site)
    # the theme shows its "type to search" text once the search index is ready (reading the
    # "initialising" text first and waiting for a change raced with a fast start)
    ready = phone.evaluate("JSON.parse(document.getElementById('__config').textContent)"
                           ".translations['search.result.placeholder']")
    assert ready
    phone.locator("label.md-header__button[for='__search']").click()
    phone.wait_for_function(
        "t => document.querySelector('.md-search-result__meta').textContent.trim() === t",
        arg=ready, timeout=20000)
    box = phone.locator("input.md-search__input")
    missing = []
    for word, url in wanted:
        box.fill("")
        box.press("End")
        phone.wait_for_selector(".md-search-result__item", state="detached", timeout=20000)
        box.fill(word)
        box.press("End")  # the theme searches on key events
        phone.wait_for_selector(".md-search-result__item a", timeout=20000)
        hrefs = phone.eval_on_selector_all(".md-search-result__item a",
                                           "links => links.map(a => a.href)")
        if not any(url in h.split("?")[0] for h in hrefs):
            missing.append((word, url, hrefs[:5]))
    assert missing == []
