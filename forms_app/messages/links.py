"""The status link put in every message: `PUBLIC_BASE_URL/status/link/<token>`.

The token is random (`storage/status_links.py`: 256 bits, only its keyed hash stored, 120
days, revocable), so the link holds no reference and no name, ID or phone number. A new link
is issued for each message, in the transaction that queues the message. Links of earlier
versions (`/status/<REF>?t=`, the reference signed with SECRET_KEY) are still accepted by
`applicant/access.py` until they expire or the request's links are revoked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..storage.crypto import Crypto
from ..storage.status_links import LinkIssuer

LINK_PATH = "/status/link/"


def status_link_url(base_url: str, token: str) -> str:
    """The full address of the status page a token opens."""
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"


def status_link_maker(config: Mapping[str, Any], crypto: Crypto) -> LinkIssuer | None:
    """The issuer of status links from the app's settings; None when PUBLIC_BASE_URL is empty
    (then messages carry no link: an address the applicant cannot open helps nobody)."""
    base = (config.get("PUBLIC_BASE_URL") or "").strip()
    if not base:
        return None
    return LinkIssuer(crypto, lambda token: status_link_url(base, token))
