"""The shared Chromium of the browser tests: Playwright's own switches kept, and no hidden
browser UI built for each page a test opens (see BROWSER_UI_OFF in conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BROWSER_UI_OFF, disabled_features

pytestmark = pytest.mark.browser


def test_a_new_page_brings_no_hidden_browser_ui(browser: Any) -> None:
    session = browser.new_browser_cdp_session()
    page = browser.new_page()
    page.set_content("<p>页面</p>")
    targets = session.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
    assert [t["url"] for t in targets if t["type"] == "browser_ui"] == []
    assert [t["type"] for t in targets].count("page") == 1
    page.context.close()


def test_playwrights_disabled_features_are_kept_beside_ours(chromium_args: list[str]) -> None:
    features = disabled_features(chromium_args)
    # PaintHolding off is what lets a test click right after a navigation (Playwright #28023)
    assert {"PaintHolding", "HttpsUpgrades", *BROWSER_UI_OFF} <= set(features)
    assert len([a for a in chromium_args if a.startswith("--disable-features=")]) == 1


def test_the_last_disable_features_switch_is_the_one_read() -> None:
    assert disabled_features(["--disable-features=A,B", "--x", "--disable-features=C"]) == ["C"]
    assert disabled_features(["--headless=new"]) == []
