"""The status link put in every message: `PUBLIC_BASE_URL/status/<REF>?t=<token>`.

The token is the one `applicant.access.status_link_token` makes (the reference signed with
SECRET_KEY by itsdangerous, salt "status-link"), built here from the secret itself so that the
storage layer, which writes the messages, never imports the applicant views. The link holds
the reference and a signature only: no name, ID or phone number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from itsdangerous import URLSafeTimedSerializer

# the same salt as applicant/access.py: a link made here opens the page there
# (tests/messages/test_submission_message.py follows one through the app)
STATUS_LINK_SALT = "status-link"


def status_link(secret_key: str, base_url: str, reference: str) -> str:
    """The full address of the applicant's status page for `reference`, signed."""
    token = URLSafeTimedSerializer(secret_key, salt=STATUS_LINK_SALT).dumps(reference)
    return f"{base_url.rstrip('/')}/status/{quote(reference)}?t={token}"


def status_link_maker(config: Mapping[str, Any]) -> Callable[[str], str] | None:
    """reference -> status link from the app's settings; None when PUBLIC_BASE_URL is empty
    (then messages carry no link: an address the applicant cannot open helps nobody)."""
    base = (config.get("PUBLIC_BASE_URL") or "").strip()
    if not base:
        return None
    secret = config["SECRET_KEY"]
    return lambda reference: status_link(secret, base, reference)
