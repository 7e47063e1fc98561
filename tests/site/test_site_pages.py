"""Every item of the content appears on the page where a policyholder looks for it.

The tests walk the content (services, promises, documents, samples, flow steps, notes, cities,
hospitals, calendar years) and read the built HTML; no Chinese text is copied in here.
"""

from __future__ import annotations

import pytest
from builtsite import Site

from service_rules.deadlines import shanghai_today
from service_rules.models import ACTOR_NAMES
from service_rules.wording import COUNTING_RULE, promise_sentence


def squash(text: str) -> str:
    """Whitespace differs between YAML folding and HTML; compare without it."""
    return "".join(text.split())


def contains(haystack: str, needle: str) -> bool:
    return squash(needle) in squash(haystack)


def service_url(service_id: str) -> str:
    return f"services/{service_id}/"


def test_every_page_is_built(site: Site) -> None:
    expected = {"", "coverage/", "hospitals/", "working-days/", "faq/", "privacy/"}
    expected |= {service_url(s.id) for s in site.rules.content.services}
    assert set(site.pages()) == expected


def test_home_lists_every_service_with_its_promises_and_apply_link(site: Site) -> None:
    content = site.rules.content
    home = site.article("")
    text = site.text("")
    links = {a["href"] for a in home.find_all("a", href=True)}
    for service in content.services:
        assert contains(text, service.name)
        assert contains(text, service.summary)
        assert contains(text, service.eligibility)
        assert f"/apply/{service.id}" in links
        assert f"services/{service.id}/" in links
        for promise in service.promises:
            assert contains(text, promise_sentence(content, promise))
    assert "/status" in links
    assert f"tel:{content.product.hotline.tel}" in links


@pytest.mark.parametrize("index", range(4))
def test_service_page_states_eligibility_lapse_and_promises(site: Site, index: int) -> None:
    content = site.rules.content
    if index >= len(content.services):
        pytest.skip("fewer services in the content")
    service = content.services[index]
    url = service_url(service.id)
    assert contains(site.section(url, "who"), service.eligibility)
    assert contains(site.section(url, "who"), service.lapse)
    promises = site.section(url, "promises")
    for promise in service.promises:
        assert contains(promises, promise_sentence(content, promise))
        for event in promise.starts_after:  # what starts the clock
            assert contains(promises, content.event_by_id[event].name)
    for use in service.uses:
        assert contains(site.section(url, "what"), use.name)
    if service.advance_booking:
        assert contains(promises, service.advance_booking.text)
    if service.purpose:
        assert contains(site.text(url), service.purpose)


def test_document_checklist_marks_required_documents(site: Site) -> None:
    content = site.rules.content
    for service in content.services:
        items = site.article(service_url(service.id)).select("ul.cc-checklist > li")
        by_name = {}
        for li in items:
            tag = li.select_one(".cc-tag--required")
            name = li.get_text(strip=True).replace(tag.get_text(strip=True), "") if tag else \
                li.get_text(strip=True)
            by_name[name] = tag is not None
        expected = {content.document_by_id[d.id].name: d.required for d in service.documents}
        assert by_name == expected, service.id
        # the same mark text is used on every required document
        marks = {li.select_one(".cc-tag--required").get_text(strip=True)
                 for li in items if li.select_one(".cc-tag--required")}
        assert len(marks) <= 1


def test_samples_are_listed_on_their_service_page(site: Site) -> None:
    content = site.rules.content
    with_samples = [s for s in content.services if s.samples]
    assert with_samples, "the content names samples for at least one service"
    for service in with_samples:
        samples = site.section(service_url(service.id), "samples")
        for sample in service.samples:
            assert contains(samples, sample.name)
        if service.samples_note:
            assert contains(samples, service.samples_note)
    for service in content.services:
        if not service.samples:
            assert site.article(service_url(service.id)).find(id="samples") is None


def test_flow_steps_in_order_with_actor_provides_and_promise_badge(site: Site) -> None:
    content = site.rules.content
    for service in content.services:
        flow = site.article(service_url(service.id)).select_one("ol.cc-flow")
        assert flow is not None and flow.get("aria-label")
        steps = flow.find_all("li", recursive=False)
        assert len(steps) == len(service.flow)
        for li, step in zip(steps, service.flow, strict=True):
            body = li.select_one(".cc-flow__body").get_text(" ", strip=True)
            assert contains(li.select_one(".cc-flow__title").get_text(), step.title)
            assert contains(body, step.detail)
            assert contains(li.select_one(".cc-flow__actor").get_text(), ACTOR_NAMES[step.actor])
            for item in step.insured_provides:
                assert contains(li.select_one(".cc-flow__provide").get_text(), item)
            badges = [b.get_text(" ", strip=True) for b in li.select(".cc-badge")]
            wanted = [promise_sentence(content, service.promise(p)) for p in step.promises]
            assert len(badges) == len(wanted)
            for badge, sentence in zip(badges, wanted, strict=True):
                assert contains(badge, sentence)


def test_every_promise_is_beside_some_step(site: Site) -> None:
    """A promise no step names would have no badge in the flow: the content should name it."""
    for service in site.rules.content.services:
        named = {p for step in service.flow for p in step.promises}
        assert named == {p.id for p in service.promises}, service.id


def test_notes_split_into_rules_and_disclaimers(site: Site) -> None:
    for service in site.rules.content.services:
        url = service_url(service.id)
        for note in service.notes:
            section = "rules" if note.kind == "rule" else "disclaimers"
            assert contains(site.section(url, section), note.text), (service.id, note.text)


def test_service_pages_have_apply_call_and_status_buttons(site: Site) -> None:
    hotline = site.rules.content.product.hotline
    for service in site.rules.content.services:
        buttons = site.article(service_url(service.id)).select("a.md-button")
        hrefs = [b["href"] for b in buttons]
        assert f"/apply/{service.id}" in hrefs
        assert f"tel:{hotline.tel}" in hrefs
        assert "/status" in hrefs
        call = next(b for b in buttons if b["href"].startswith("tel:"))
        assert hotline.display in call.get_text()


def test_coverage_lists_every_city_under_its_province(site: Site) -> None:
    content = site.rules.content
    article = site.article("coverage/")
    headings = {h.get_text(strip=True): h for h in article.find_all("h2")}
    assert set(headings) == set(content.provinces())
    for province, cities in content.provinces().items():
        listed = headings[province].find_next_sibling("ul").get_text(" ", strip=True)
        for city in cities:
            assert city.name in listed
            assert f"{len(content.hospitals_in(city.id))}家" in squash(listed)


def test_hospital_directory_groups_every_hospital_by_city(site: Site) -> None:
    content = site.rules.content
    article = site.article("hospitals/")
    options = [o["value"] for o in article.select("#cc-city option") if o["value"]]
    assert options == [c.id for c in content.cities]
    # works without JavaScript: the filter is hidden, every section visible in the HTML
    assert article.select_one("#cc-hospital-filter").has_attr("hidden")
    for city in content.cities:
        section = article.select_one(f'section.cc-city[data-city="{city.id}"]')
        assert section is not None and not section.has_attr("hidden")
        assert section.find("h2", id=city.id).get_text(strip=True) == city.name
        text = section.get_text(" ", strip=True)
        for hospital in content.hospitals_in(city.id):
            assert hospital.name in text
            if hospital.short_name:
                assert hospital.short_name in text
            for service_id in hospital.services:
                assert content.service(service_id).short_name in text
        others = [h for h in content.hospitals if h.city != city.id]
        assert not any(f"{h.name}" == li.strong.get_text() for h in others
                       for li in section.select("li") if li.strong)


def test_working_days_page_lists_this_and_next_year(site: Site) -> None:
    calendar = site.rules.calendar
    year = shanghai_today().year
    text = site.text("working-days/")
    assert contains(text, COUNTING_RULE)
    for note in site.rules.content.product.fairness_notes:
        assert contains(text, note)
    for y in (year, year + 1):
        view = calendar.arrangement(y)
        heading = site.article("working-days/").find(id=f"year-{y}")
        assert heading is not None
        assert ("暂定" in heading.get_text()) == (not calendar.is_official(y))
        section = site.section("working-days/", f"year-{y}")
        for period in view.holidays:
            assert period.name in section
            assert f"{period.start.month}月{period.start.day}日" in section
            assert f"共{(period.end - period.start).days + 1}天" in squash(section)
        for makeup in view.workdays:
            assert f"{makeup.date.year}年{makeup.date.month}月{makeup.date.day}日" in section
    # each year's holidays are a real table (official years once lost theirs to a paragraph)
    tables = site.article("working-days/").find_all("table")
    assert [len(t.select("tbody tr")) for t in tables] == [
        len(calendar.arrangement(y).holidays) for y in (year, year + 1)]


def test_faq_answers_from_notes_rules_and_promises(site: Site) -> None:
    content = site.rules.content
    text = site.text("faq/")
    for service in content.services:
        assert contains(text, service.lapse)
        for note in service.notes:
            assert contains(text, note.text)
        for promise in service.promises:
            assert contains(text, promise_sentence(content, promise))
    assert contains(text, content.product.identity_note)


def test_hotline_is_a_tel_link_on_every_page(site: Site) -> None:
    tel = f"tel:{site.rules.content.product.hotline.tel}"
    for url in site.pages():
        hrefs = [a["href"] for a in site.article(url).find_all("a", href=True)]
        assert tel in hrefs, url
