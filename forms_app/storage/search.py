"""Finding requests by what staff type: a reference, the insured's name, or a phone (the
insured's or the applicant's). Names and phones are matched by keyed hash equality in SQL
(`HASH_KEY`, the same HMAC as ID numbers): nothing is decrypted and scanned, and no clear text
is compared with LIKE. The typed text is never logged or stored.

The hashes are written with the request (`requests.create_request`), erased with its personal
data (retention), and filled in for requests made before migration 0009 by `backfill_hashes`
(`flask --app forms_app refresh-queue`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from service_rules.identity import normalise_reference
from service_rules.queue_order import (
    SEARCH_NAME,
    SEARCH_PHONE,
    SEARCH_REFERENCE,
    name_key,
    phone_key,
    search_kind,
)

from .crypto import Crypto
from .database import Database
from .models import ServiceRequest

NAME_PURPOSE = "insured_name"
# one purpose for both phones: a typed number finds the insured's and the applicant's alike
PHONE_PURPOSE = "phone"
# a short list: more than this and the search asks for something narrower
MAX_MATCHES = 20


def name_hash(crypto: Crypto, name: str) -> str | None:
    key = name_key(name)
    return crypto.lookup_hash(NAME_PURPOSE, key) if key else None


def phone_hash(crypto: Crypto, phone: str | None) -> str | None:
    key = phone_key(phone or "")
    return crypto.lookup_hash(PHONE_PURPOSE, key) if key else None


def search_hashes(crypto: Crypto, insured_name: str, phone: str,
                  applicant_phone: str | None) -> dict[str, str | None]:
    """The hash columns of a request's row."""
    return {"insured_name_hash": name_hash(crypto, insured_name),
            "phone_hash": phone_hash(crypto, phone),
            "applicant_phone_hash": phone_hash(crypto, applicant_phone)}


@dataclass(frozen=True)
class Match:
    """A request found by a search, with masked data only."""

    reference: str
    service_id: str
    use_id: str
    status: str
    city_id: str | None
    phone_masked: str
    created_at: dt.datetime


_MATCH_COLUMNS = (ServiceRequest.reference, ServiceRequest.service_id, ServiceRequest.use_id,
                  ServiceRequest.status, ServiceRequest.city_id, ServiceRequest.phone_masked,
                  ServiceRequest.created_at)


def find(db: Database, crypto: Crypto, typed: str) -> list[Match]:
    """Requests matching the typed reference, name or phone, newest first: at most
    MAX_MATCHES + 1 (one more tells the caller there are more than it shows). A reference that
    finds nothing is tried as a name (a Latin name may look like one)."""
    kind = search_kind(typed)
    if kind is None:
        return []
    conditions = []
    if kind == SEARCH_REFERENCE:
        conditions.append(ServiceRequest.reference == normalise_reference(typed))
    if kind in (SEARCH_REFERENCE, SEARCH_NAME):
        hashed = name_hash(crypto, typed)
        if hashed:
            conditions.append(ServiceRequest.insured_name_hash == hashed)
    if kind == SEARCH_PHONE:
        hashed = phone_hash(crypto, typed)
        if hashed:
            conditions.append(or_(ServiceRequest.phone_hash == hashed,
                                  ServiceRequest.applicant_phone_hash == hashed))
    if not conditions:
        return []
    with db.read_session() as s:
        rows = s.execute(select(*_MATCH_COLUMNS).where(or_(*conditions))
                         .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                         .limit(MAX_MATCHES + 1)).all()
    found = [Match(*r) for r in rows]
    exact = [m for m in found if kind == SEARCH_REFERENCE
             and m.reference == normalise_reference(typed)]
    return exact or found


def backfill_hashes(db: Database, crypto: Crypto, batch: int = 500) -> int:
    """Fill the search hashes of requests stored before they existed (decrypting each phone
    once, here only); returns how many requests were filled. Deleted requests stay empty."""
    filled = 0
    last_id = 0
    while True:
        with db.write_session() as s:
            rows = list(s.scalars(
                select(ServiceRequest)
                .where(ServiceRequest.insured_name_hash.is_(None),
                       ServiceRequest.personal_data_deleted_at.is_(None),
                       ServiceRequest.id > last_id)
                .order_by(ServiceRequest.id).limit(batch)))
            for req in rows:
                applicant = (crypto.decrypt_text(req.applicant_phone_enc)
                             if req.applicant_phone_enc else None)
                values = search_hashes(crypto, req.insured_name,
                                       crypto.decrypt_text(req.phone_enc), applicant)
                for column, value in values.items():
                    setattr(req, column, value)
            filled += len(rows)
        if len(rows) < batch:
            return filled
        last_id = rows[-1].id
