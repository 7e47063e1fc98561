"""The print stylesheet of the applicant's status and confirmation pages: the app's own file
(no other host), linked by both pages, hiding navigation, forms and buttons on paper (the
browser test prints the page and counts one A4 sheet)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from tests.support.staff import make_app, new_request, soup

PRINT_CSS = Path(__file__).parents[2] / "forms_app" / "web" / "static" / "print.css"


def test_both_pages_link_the_apps_own_print_stylesheet(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    ref = new_request(app, "second_opinion", request_date=dt.date(2026, 12, 1))
    client = app.test_client()
    with client.session_transaction() as session:
        session["viewable"] = [ref]  # as after submitting or a lookup
    for path in (f"/status/{ref}", f"/apply/confirmation/{ref}"):
        doc = soup(client.get(path).get_data(as_text=True))
        hrefs = [link["href"] for link in doc.select("link[rel=stylesheet]")]
        assert "/app-static/print.css" in hrefs, (path, hrefs)
    css = client.get("/app-static/print.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_on_paper_navigation_forms_and_buttons_are_hidden() -> None:
    css = PRINT_CSS.read_text(encoding="utf-8")
    assert "http" not in css and "@import" not in css  # nothing from another host
    screen, _, printed = css.partition("@media print")
    assert ".app-print-only { display: none; }" in screen
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none\s*!important;\s*\}", printed)
    assert hidden is not None
    selectors = {s.strip() for s in hidden.group(1).split(",")}
    assert {".app-header", ".app-footer", "form", "button", ".app-button", "#privacy",
            "#documents", "#links"} <= selectors
    assert "@page" in printed and "break-inside: avoid" in printed
