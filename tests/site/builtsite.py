"""Reading a built site in tests: pages, their content and sections."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from build_scripts import build
from service_rules import Rules, load_rules
from service_rules.deadlines import shanghai_today

ROOT = Path(__file__).resolve().parents[2]


# a phone's viewport, for the browser tests of the site
PHONE = {"width": 390, "height": 844}


class Site:
    """A built site in a temporary folder, with helpers to read its pages."""

    def __init__(self, root: Path, rules: Rules):
        self.root = root
        self.rules = rules
        self._cache: dict[str, BeautifulSoup] = {}

    def path(self, url: str) -> Path:
        """'services/green_channel/' -> site/services/green_channel/index.html."""
        url = url.strip("/")
        return self.root / url / "index.html" if url else self.root / "index.html"

    def soup(self, url: str) -> BeautifulSoup:
        if url not in self._cache:
            html = self.path(url).read_text(encoding="utf-8")
            self._cache[url] = BeautifulSoup(html, "html.parser")
        return self._cache[url]

    def article(self, url: str):
        """The page's content, without navigation, header and footer."""
        return self.soup(url).select_one("article.md-content__inner")

    def text(self, url: str) -> str:
        return self.article(url).get_text(" ", strip=True)

    def section(self, url: str, heading_id: str) -> str:
        """Text from the heading with this id to the next heading of the same level."""
        heading = self.article(url).find(id=heading_id)
        assert heading is not None, f"{url}: no heading #{heading_id}"
        parts = []
        for sibling in heading.find_next_siblings():
            if sibling.name == heading.name:
                break
            parts.append(sibling.get_text(" ", strip=True))
        return " ".join(parts)

    def pages(self) -> list[str]:
        """URL of every built page except 404."""
        return sorted(
            "" if p.parent == self.root else p.parent.relative_to(self.root).as_posix() + "/"
            for p in self.root.rglob("index.html"))


def build_site(content_dir: Path, tmp: Path) -> Site:
    today = shanghai_today()
    build(content_dir, docs_dir=tmp / "docs", site_dir=tmp / "site", apply_base="", today=today)
    return Site(tmp / "site", load_rules(content_dir, today=today))
