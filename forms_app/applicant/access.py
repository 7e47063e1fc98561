"""Which requests this browser may see: the ones it submitted or looked up (kept in the signed
session cookie, at most the last VIEWABLE_MAX), or whose signed status link it opened (the link
in a message to the applicant: the reference signed with SECRET_KEY, valid LINK_DAYS days)."""

from __future__ import annotations

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
