"""Which requests this browser may see: the ones it submitted or looked up (kept in the signed
session cookie, at most the last VIEWABLE_MAX), or whose signed status link it opened (the link
in a message to the applicant: the reference signed with SECRET_KEY, valid LINK_DAYS days)."""

from __future__ import annotations

import secrets

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

VIEWABLE_KEY = "viewable"
VIEWABLE_MAX = 10


def allow_view(reference: str) -> None:
    refs = [r for r in session.get(VIEWABLE_KEY, []) if r != reference]
    session[VIEWABLE_KEY] = (refs + [reference])[-VIEWABLE_MAX:]


def may_view(reference: str) -> bool:
    return reference in session.get(VIEWABLE_KEY, [])


LINK_DAYS = 120
_LINK_SALT = "status-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


def status_link_token(reference: str) -> str:
    return _serializer().dumps(reference)


def link_reference(token: str) -> str | None:
    """The reference a status-link token was made for, None if forged or expired."""
    try:
        value = _serializer().loads(token, max_age=LINK_DAYS * 24 * 3600)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


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
