"""Status links the applicant can refresh, bookmark and lose safely: a random token
(`secrets.token_urlsafe(32)`, 256 bits) in the address and nothing else, so the link names no
request and no person. Only the token's keyed hash (HMAC with HASH_KEY, `Crypto.lookup_hash`)
is kept, with the request it opens, its expiry and its revocation: a copy of the database does
not give working links, and revoking is one UPDATE.

Links are issued in the caller's write transaction (the message that carries one is queued in
the same transaction, so a link exists exactly when its message does). They stop working when
they expire, when the applicant withdraws or the personal data is deleted, and when staff or
the applicant stop the old links (`revoke_links`).

Links signed by earlier versions (`/status/<REF>?t=`, the reference signed with SECRET_KEY)
have no row; `legacy_link_allowed` accepts them until they expire unless the request's links
were revoked after they were made (`service_request.status_links_revoked_at`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from .audit import audit
from .crypto import Crypto
from .database import Database
from .models import ServiceRequest, StatusLink, utcnow

LINK_DAYS = 120
TOKEN_PURPOSE = "status_link"
# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours
TOKEN_MAX_LENGTH = 64

_LINKS = StatusLink.__table__
_REQUESTS = ServiceRequest.__table__

# what a token opens: valid (the reference), or why not
VALID, EXPIRED, REVOKED, UNKNOWN = "valid", "expired", "revoked", "unknown"


def token_hash(crypto: Crypto, token: str) -> str:
    return crypto.lookup_hash(TOKEN_PURPOSE, token)


@dataclass(frozen=True)
class LinkIssuer:
    """Makes the applicant's link for a message or a page: a new token stored (hashed) for the
    request, turned into a full address by `url` (token -> address, `messages/links.py`)."""

    crypto: Crypto
    url: Callable[[str], str]
    days: int = LINK_DAYS

    def issue(self, conn: Connection | Session, request_id: int,
              now: dt.datetime | None = None) -> str:
        return self.url(issue_token(conn, self.crypto, request_id, now, self.days))


def issue_token(conn: Connection | Session, crypto: Crypto, request_id: int,
                now: dt.datetime | None = None, days: int = LINK_DAYS) -> str:
    """A new token for the request, its hash stored in the caller's write transaction."""
    return _insert_link(conn, crypto, request_id, now, days)[0]


def _insert_link(conn: Connection | Session, crypto: Crypto, request_id: int,
                 now: dt.datetime | None, days: int) -> tuple[str, int]:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    result = conn.execute(insert(_LINKS), {"request_id": request_id,
                                           "token_hash": token_hash(crypto, token),
                                           "created_at": now,
                                           "expires_at": now + dt.timedelta(days=days)})
    return token, int(result.inserted_primary_key[0])


def link_for_legacy(db: Database, crypto: Crypto, reference: str,
                    signed_at: dt.datetime) -> int | None:
    """An old signed link opened: a stored link in its place (expiring when the old one
    would), so the browser it let in is shut out like any other once the links are stopped.
    Returns the new link's id; None if there is no such request."""
    with db.write_connection() as conn:
        request_id = conn.scalar(select(_REQUESTS.c.id).where(_REQUESTS.c.reference == reference))
        if request_id is None:
            return None
        # made when the old link was signed: it expires when that one would have
        return _insert_link(conn, crypto, request_id, _aware(signed_at), LINK_DAYS)[1]


@dataclass(frozen=True)
class LinkCheck:
    state: str
    reference: str | None = None
    link_id: int | None = None


_BY_HASH = (select(_LINKS.c.id, _LINKS.c.expires_at, _LINKS.c.revoked_at, _REQUESTS.c.reference,
                   _REQUESTS.c.personal_data_deleted_at)
            .select_from(_LINKS.join(_REQUESTS, _REQUESTS.c.id == _LINKS.c.request_id)))


def check_token(db: Database, crypto: Crypto, token: str,
                now: dt.datetime | None = None) -> LinkCheck:
    """What a token opens. The same single indexed read whether or not it exists."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return LinkCheck(UNKNOWN)
    now = now or utcnow()
    with db.read_connection() as conn:
        row = conn.execute(_BY_HASH.where(_LINKS.c.token_hash == token_hash(crypto, token))
                           ).first()
    if row is None:
        return LinkCheck(UNKNOWN)
    if row.revoked_at is not None or row.personal_data_deleted_at is not None:
        return LinkCheck(REVOKED)
    if _aware(row.expires_at) <= now:
        return LinkCheck(EXPIRED)
    return LinkCheck(VALID, row.reference, row.id)


def link_active(db: Database, link_id: int, reference: str,
                now: dt.datetime | None = None) -> bool:
    """Whether the link a browser was let in by still works (checked on each later page, so
    revoking a link also shuts out a browser that opened it before)."""
    now = now or utcnow()
    with db.read_connection() as conn:
        row = conn.execute(_BY_HASH.where(_LINKS.c.id == link_id)).first()
    return (row is not None and row.reference == reference and row.revoked_at is None
            and row.personal_data_deleted_at is None and _aware(row.expires_at) > now)


def revoke_links(session: Session | Connection, request_id: int,
                 now: dt.datetime | None = None) -> int:
    """Stop every link of the request, the legacy signed ones too (caller's transaction);
    returns how many stored links were still active."""
    now = now or utcnow()
    result = session.execute(update(_LINKS).where(_LINKS.c.request_id == request_id,
                                                  _LINKS.c.revoked_at.is_(None))
                             .values(revoked_at=now))
    session.execute(update(_REQUESTS).where(_REQUESTS.c.id == request_id)
                    .values(status_links_revoked_at=now))
    return int(result.rowcount or 0)


def active_link_count(db: Database, reference: str, now: dt.datetime | None = None) -> int:
    """How many stored links of the request still work (the staff page shows it)."""
    now = now or utcnow()
    with db.read_connection() as conn:
        return int(conn.scalar(
            select(func.count()).select_from(
                _LINKS.join(_REQUESTS, _REQUESTS.c.id == _LINKS.c.request_id))
            .where(_REQUESTS.c.reference == reference, _LINKS.c.revoked_at.is_(None),
                   _LINKS.c.expires_at > now)) or 0)


def legacy_link_allowed(db: Database, reference: str, signed_at: dt.datetime) -> bool:
    """An old signed link (`?t=`, valid signature and age already checked by the caller) still
    opens the request unless its links were revoked after it was signed, or its data deleted."""
    with db.read_connection() as conn:
        row = conn.execute(select(_REQUESTS.c.status_links_revoked_at,
                                  _REQUESTS.c.personal_data_deleted_at)
                           .where(_REQUESTS.c.reference == reference)).first()
    if row is None or row.personal_data_deleted_at is not None:
        return False
    revoked = row.status_links_revoked_at
    return revoked is None or _aware(revoked) < _aware(signed_at)


def _aware(value: dt.datetime) -> dt.datetime:
    # Core reads go through UTCDateTime, but a raw SQLite value may come back naive
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def revoke_request_links(db: Database, reference: str, actor: str,
                         issuer: LinkIssuer | None = None) -> tuple[int, str | None] | None:
    """Stop every link of the request, audited (`status_links_revoked`, by staff or the
    applicant), and if `issuer` is given make one new link in the same transaction. Returns
    (links stopped, the new link or None); None if there is no such request."""
    with db.write_session() as s:
        req = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        if req is None:
            return None
        now = utcnow()
        stopped = revoke_links(s, req.id, now)
        fresh = issuer.issue(s, req.id, now) if issuer else None
        audit(s, actor, "status_links_revoked", req, links=stopped, new_link=fresh is not None)
        return stopped, fresh
