"""Creating and finding requests: reference numbers, idempotent submission, "already used".

Framework-free (takes a `Database`, `Crypto` and plain values) so the same code runs under the
request app, the staff console and the tests, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service_rules.eligibility import policy_year

from .crypto import Crypto
from .db import Database
from .identity import mask_id_number, mask_mobile, new_reference
from .models import (
    BY_APPLICANT,
    NOT_USED_STATUSES,
    AuditLog,
    RequestDocument,
    RequestEvent,
    ServiceRequest,
    utcnow,
)
from .uploads import fsync_dir, store

log = logging.getLogger(__name__)

ID_PURPOSE = "id_number"
ID_LAST4_PURPOSE = "id_last4"
REFERENCE_ATTEMPTS = 8


@dataclass
class NewRequest:
    """Everything a validated form gives, in plain values."""

    service_id: str
    use_id: str
    insured_name: str
    id_number: str
    phone: str
    applicant_relation: str
    applicant_name: str | None
    applicant_phone: str | None
    policy_number: str
    policy_effective: dt.date
    diagnosis_date: dt.date
    first_diagnosis: bool
    city_id: str | None
    hospital_id: str | None
    details: dict[str, Any]
    consent_text: str
    submission_token: str
    content_version: str
    service_snapshot: dict[str, Any]
    request_date: dt.date                      # Asia/Shanghai date of the submission
    events: dict[str, dt.date] = field(default_factory=dict)  # other dated events given
    files: list[tuple[str, bytes, str, str]] = field(default_factory=list)  # type, data, ext, mime
    initial_promises: list[dict[str, Any]] = field(default_factory=list)


def policy_year_start(effective: dt.date, day: dt.date) -> dt.date:
    return policy_year(effective, day)[0] if day >= effective else effective


def find_by_token(session: Session, token: str) -> ServiceRequest | None:
    return session.scalar(select(ServiceRequest).where(ServiceRequest.submission_token == token))


def find_by_reference(session: Session, reference: str) -> ServiceRequest | None:
    return session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))


def used_uses(session: Session, crypto: Crypto, *, policy_number: str, id_number: str,
              use_id: str, year_start: dt.date) -> set[str]:
    """{use_id} if a request for this use (not lapsed/declined/withdrawn) exists for the same
    policy and insured in the same policy year, else an empty set."""
    id_hash = crypto.lookup_hash(ID_PURPOSE, id_number)
    found = session.scalar(
        select(ServiceRequest.id).where(
            ServiceRequest.policy_number == policy_number,
            ServiceRequest.id_hash == id_hash,
            ServiceRequest.use_id == use_id,
            ServiceRequest.policy_year_start == year_start,
            ServiceRequest.status.not_in(NOT_USED_STATUSES),
        ).limit(1))
    return {use_id} if found is not None else set()


def create_request(db: Database, crypto: Crypto, upload_dir: Path, new: NewRequest,
                   make_reference: Callable[[], str] = new_reference) -> tuple[str, bool]:
    """Store the request, its files and its first events in one transaction.

    Returns (reference, created). A second submission with the same token returns the first
    request's reference with created=False. Files are written (encrypted, fsynced) before the
    transaction commits and removed again if it does not.
    """
    # a read (no write lock): the write transaction below checks the token again
    with db.read_session() as session:
        existing = find_by_token(session, new.submission_token)
        if existing is not None:
            return existing.reference, False

    stored = [(doc_type, store(upload_dir, crypto, data), data, ext, mime)
              for doc_type, data, ext, mime in new.files]
    if stored:
        fsync_dir(upload_dir)
    try:
        for _attempt in range(REFERENCE_ATTEMPTS):
            reference = make_reference()
            try:
                with db.write_session() as session:
                    if find_by_token(session, new.submission_token) is not None:
                        raise _Duplicate
                    if find_by_reference(session, reference) is not None:
                        continue  # collision: draw again
                    req = _build(crypto, new, reference, stored)
                    session.add(req)
                    session.flush()
                    session.add(AuditLog(actor=BY_APPLICANT, action="request_created",
                                         request_id=req.id,
                                         details={"reference": reference,
                                                  "service_id": new.service_id,
                                                  "use_id": new.use_id,
                                                  "documents": len(stored)}))
                return reference, True
            except IntegrityError:
                # a concurrent insert took the token or the reference between our check and
                # our insert: find out which
                with db.write_session() as session:
                    existing = find_by_token(session, new.submission_token)
                    if existing is not None:
                        raise _Duplicate from None
                continue
        raise RuntimeError("could not draw a free reference number")
    except _Duplicate:
        _remove(stored)
        with db.write_session() as session:
            existing = find_by_token(session, new.submission_token)
            assert existing is not None
            return existing.reference, False
    except BaseException:
        _remove(stored)
        raise


class _Duplicate(Exception):
    pass


def _remove(stored: list[tuple[Any, ...]]) -> None:
    for item in stored:
        item[1].path.unlink(missing_ok=True)


def _build(crypto: Crypto, new: NewRequest, reference: str,
           stored: list[tuple[Any, ...]]) -> ServiceRequest:
    now = utcnow()
    req = ServiceRequest(
        reference=reference,
        service_id=new.service_id,
        use_id=new.use_id,
        insured_name=new.insured_name,
        id_number_enc=crypto.encrypt_text(new.id_number),
        id_number_masked=mask_id_number(new.id_number),
        id_hash=crypto.lookup_hash(ID_PURPOSE, new.id_number),
        id_last4_hash=crypto.lookup_hash(ID_LAST4_PURPOSE, reference + new.id_number[-4:]),
        phone_enc=crypto.encrypt_text(new.phone),
        phone_masked=mask_mobile(new.phone),
        applicant_relation=new.applicant_relation,
        applicant_name=new.applicant_name,
        applicant_phone_enc=crypto.encrypt_text(new.applicant_phone)
        if new.applicant_phone else None,
        applicant_phone_masked=mask_mobile(new.applicant_phone) if new.applicant_phone else None,
        policy_number=new.policy_number,
        policy_effective=new.policy_effective,
        policy_year_start=policy_year_start(new.policy_effective, new.request_date),
        diagnosis_date=new.diagnosis_date,
        first_diagnosis=new.first_diagnosis,
        city_id=new.city_id,
        hospital_id=new.hospital_id,
        details=new.details,
        consent_at=now,
        consent_text=new.consent_text,
        created_at=now,
        submission_token=new.submission_token,
        content_version=new.content_version,
        service_snapshot=new.service_snapshot,
        initial_promises=new.initial_promises,
    )
    req.events.append(RequestEvent(event_id="request", event_date=new.request_date,
                                   recorded_by=BY_APPLICANT, recorded_at=now,
                                   details={"source": "online_form"}))
    for event_id, day in new.events.items():
        req.events.append(RequestEvent(event_id=event_id, event_date=day,
                                       recorded_by=BY_APPLICANT, recorded_at=now,
                                       details={"source": "online_form"}))
    for doc_type, stored_file, data, ext, mime in stored:
        req.documents.append(RequestDocument(
            document_type=doc_type, stored_name=stored_file.stored_name, extension=ext,
            size=len(data), sha256=hashlib.sha256(data).hexdigest(), mime=mime,
            created_at=now))
    return req


def check_status_pair(session: Session, crypto: Crypto, reference: str, last4: str
                      ) -> ServiceRequest | None:
    """The request if `reference` exists and `last4` matches its ID number; None otherwise.
    Does the same work whether or not the reference exists."""
    req = find_by_reference(session, reference) if reference else None
    expected = req.id_last4_hash if req is not None else "0" * 64
    ok = crypto.matches(ID_LAST4_PURPOSE, reference + last4.upper(), expected)
    return req if (req is not None and ok) else None
