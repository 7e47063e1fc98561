"""The preview in Debian's headless Chromium: an open page reloads by itself after a content
change, and the error banner appears (and goes) without the editor reloading the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from previewing import RunningPreview, promise_to_seven_days

from service_rules import load_rules
from service_rules.wording import promise_sentence

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_open_page_reloads_and_shows_the_banner(running_preview: RunningPreview,
                                                content_copy: Path, page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    services = content_copy / "services.yaml"
    page.goto(running_preview.url + "services/green_channel/", wait_until="load")
    page.evaluate("window.__notReloaded = true")

    promise_to_seven_days(services)
    content = load_rules(content_copy).content
    seven = promise_sentence(content, content.service("green_channel").promise(
        "outpatient_arranged"))
    page.wait_for_function("text => document.querySelector('article').innerText.includes(text)",
                           arg=seven, timeout=TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded === undefined"), "the page did not reload"

    replace(services, "working_days: 7\n        starts_after",
            "working_days: 七\n        starts_after")
    banner = page.wait_for_selector("#cc-preview-error[role=alert]", timeout=TIMEOUT_MS)
    assert banner.is_visible()
    assert "working_days" in banner.inner_text()
    assert seven in page.inner_text("article")  # the last good content is still there
    result = Axe().run(page, context="#cc-preview-error")
    assert result.response["violations"] == [], result.generate_report()

    replace(services, "working_days: 七\n", "working_days: 7\n")
    page.wait_for_selector("#cc-preview-error", state="detached", timeout=TIMEOUT_MS)
    assert seven in page.inner_text("article")
