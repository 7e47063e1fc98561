"""Which requests this browser may see: the ones it submitted or looked up (kept in the signed
session cookie, at most the last VIEWABLE_MAX)."""

from __future__ import annotations

from flask import session

VIEWABLE_KEY = "viewable"
VIEWABLE_MAX = 10


def allow_view(reference: str) -> None:
    refs = [r for r in session.get(VIEWABLE_KEY, []) if r != reference]
    session[VIEWABLE_KEY] = (refs + [reference])[-VIEWABLE_MAX:]


def may_view(reference: str) -> bool:
    return reference in session.get(VIEWABLE_KEY, [])
