"""The live preview over HTTP: a content change shows up, a content error shows a banner with
the check's message while the last good site stays up, and the banner goes once fixed."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from bs4 import BeautifulSoup
from previewing import ROOT, RunningPreview, page_or_none, promise_to_seven_days, wait_for

from service_rules import load_rules
from service_rules.wording import promise_sentence

SERVICE_PAGE = "services/green_channel/"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"snippet not found exactly once: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def outpatient_sentence(content_dir: Path) -> str:
    content = load_rules(content_dir).content
    return promise_sentence(content, content.service("green_channel").promise(
        "outpatient_arranged"))


def check_message(content_dir: Path) -> str:
    """What `python -m service_rules check` prints for this content (it must fail)."""
    result = subprocess.run([sys.executable, "-m", "service_rules", "check",
                             "--content", str(content_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stderr.strip()


def article_text(page: str) -> str:
    article = BeautifulSoup(page, "html.parser").select_one("article.md-content__inner")
    assert article is not None
    return article.get_text("", strip=True)


def banner(page: str):
    return BeautifulSoup(page, "html.parser").find(id="cc-preview-error")


def epoch_of(page: str) -> int:
    """The site version the live-reload script in the page knows."""
    match = re.search(r"livereload\((\d+), \d+\)", page)
    assert match, "no live-reload script in the served page"
    return int(match.group(1))


def reload_signalled(running: RunningPreview, epoch: int) -> bool:
    """The browser's long poll answers with a newer version (so the page reloads)."""
    url = f"{running.url}livereload/{epoch}/1"
    with urllib.request.urlopen(url, timeout=70) as response:
        return int(response.read()) > epoch


def test_preview_follows_content_and_shows_errors(running_preview: RunningPreview,
                                                  content_copy: Path) -> None:
    services = content_copy / "services.yaml"
    five = outpatient_sentence(content_copy)
    assert "5个工作日" in five

    first = running_preview.page(SERVICE_PAGE)
    assert five in article_text(first)
    assert banner(first) is None
    epoch = epoch_of(first)

    # An editor changes the outpatient promise from 5 to 7 working days.
    promise_to_seven_days(services)
    seven = outpatient_sentence(content_copy)
    assert "7个工作日" in seven
    assert reload_signalled(running_preview, epoch)
    page = wait_for("the page to show 7 working days", lambda: (
        p if (p := page_or_none(running_preview, SERVICE_PAGE)) and seven in article_text(p)
        else None))
    assert five not in article_text(page)
    assert banner(page) is None

    # Then types the number in Chinese: the check fails.
    edit(services, "working_days: 7\n        starts_after: [request]",
         "working_days: 七\n        starts_after: [request]")
    message = check_message(content_copy)
    assert "working_days" in message and "检查未通过" in message
    page = wait_for("the error banner", lambda: (
        p if (p := page_or_none(running_preview, SERVICE_PAGE)) and banner(p) else None))
    # The last good content is still served, with the check's message on top.
    assert seven in article_text(page)
    box = banner(page)
    assert box["role"] == "alert"
    assert box.find(id=box["aria-labelledby"]) is not None
    assert box.select_one("pre").get_text() == message
    # Every page carries it, not just the one being edited.
    assert banner(running_preview.page("")) is not None
    # The terminal shows the same message.
    wait_for("the message in the terminal", lambda: message in running_preview.output())

    # Fixed: the banner goes, the content is the fixed one.
    edit(services, "working_days: 七\n", "working_days: 7\n")
    page = wait_for("the banner to go", lambda: (
        p if (p := page_or_none(running_preview, SERVICE_PAGE)) and banner(p) is None
        else None))
    assert seven in article_text(page)
    assert "错误提示已清除" in running_preview.output()
