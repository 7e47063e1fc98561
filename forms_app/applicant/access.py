"""Which requests this browser may see: the ones it submitted or looked up (kept in the signed
session cookie, at most the last VIEWABLE_MAX), or whose status link it opened.

A status link (`/status/link/<token>`, storage/status_links.py) lets the browser in for as
long as the link works: the session remembers which link, and each later page checks it again,
so revoking a link also shuts out a browser that opened it before. Links of earlier versions
(`/status/<REF>?t=`, the reference signed with SECRET_KEY, LINK_DAYS days) are still accepted
until they expire, unless the request's links were revoked since they were signed.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..storage import get_crypto, get_db
from ..storage.status_links import LINK_DAYS, legacy_link_allowed, link_active, link_for_legacy

VIEWABLE_KEY = "viewable"
VIEWABLE_MAX = 10
# [[reference, status_link.id], ...]: pages opened through a link, valid while it is
LINKED_KEY = "linked"


def allow_view(reference: str) -> None:
    refs = [r for r in session.get(VIEWABLE_KEY, []) if r != reference]
    session[VIEWABLE_KEY] = (refs + [reference])[-VIEWABLE_MAX:]


def allow_view_by_link(reference: str, link_id: int) -> None:
    linked = [x for x in session.get(LINKED_KEY, [])
              if isinstance(x, list) and len(x) == 2 and x[0] != reference]
    session[LINKED_KEY] = (linked + [[reference, link_id]])[-VIEWABLE_MAX:]


def may_view(reference: str) -> bool:
    if reference in session.get(VIEWABLE_KEY, []):
        return True
    for ref, link_id in (x for x in session.get(LINKED_KEY, [])
                         if isinstance(x, list) and len(x) == 2):
        if ref == reference and isinstance(link_id, int):
            return link_active(get_db(), link_id, reference)
    return False


_LINK_SALT = "status-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


def status_link_token(reference: str) -> str:
    """A link token of the earlier kind (no longer put in messages; the tests make the links
    already sent with it)."""
    return _serializer().dumps(reference)


def legacy_link(token: str) -> tuple[str, dt.datetime] | None:
    """(reference, when signed) of an earlier signed link; None if forged, expired, or the
    request's links were revoked after it was signed."""
    try:
        value, signed = _serializer().loads(token, max_age=LINK_DAYS * 24 * 3600,
                                            return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(value, str):
        return None
    signed_at = signed if signed.tzinfo else signed.replace(tzinfo=dt.UTC)
    return (value, signed_at) if legacy_link_allowed(get_db(), value, signed_at) else None


def open_legacy_link(token: str, reference: str) -> bool:
    """Let this browser in through an earlier signed link for `reference`: as through a
    stored link made in its place, so stopping the request's links shuts it out too."""
    found = legacy_link(token)
    if found is None or found[0] != reference:
        return False
    link_id = link_for_legacy(get_db(), get_crypto(), reference, found[1])
    if link_id is None:
        return False
    allow_view_by_link(reference, link_id)
    return True


# -- submission tokens: bound to the browser session and the service they were issued for ----
TOKENS_KEY = "issued_tokens"
TOKENS_MAX = 10


def issue_token(service_id: str) -> str:
    """A new submission token for one rendering of `service_id`'s form, remembered in this
    session: a resubmission of that form finds its request, nobody else's token does."""
    token = secrets.token_urlsafe(24)
    issued = [t for t in session.get(TOKENS_KEY, []) if isinstance(t, list) and len(t) == 2]
    session[TOKENS_KEY] = (issued + [[token, service_id]])[-TOKENS_MAX:]
    return token


def token_is_ours(token: str | None, service_id: str) -> bool:
    return bool(token) and [token, service_id] in session.get(TOKENS_KEY, [])
