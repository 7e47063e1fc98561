"""Checks that the database and the upload folder agree, and that every acknowledged request
is stored whole. Used after hostile input, crashes, locks and concurrent load."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forms_app.storage.crypto import Crypto, InvalidToken
from forms_app.storage.database import Database
from forms_app.storage.models import AuditLog, RequestDocument, ServiceRequest


def stored_files(upload_dir: Path) -> set[str]:
    """Names of stored uploads (temporary dot-files of an interrupted write excluded)."""
    if not upload_dir.exists():
        return set()
    return {p.name for p in upload_dir.iterdir() if p.is_file() and not p.name.startswith(".")}


def store_problems(database_url: str, upload_dir: Path, crypto: Crypto,
                   allow_orphans: bool = False) -> list[str]:
    """What is wrong between rows and files: a document row without its file or with a file
    that does not decrypt to its checksum, a request without its first event or its audit
    row, or (unless allowed) a file that no row refers to."""
    problems: list[str] = []
    db = Database(database_url)
    try:
        with db.read_session() as session:
            docs = session.scalars(select(RequestDocument)).all()
            known: set[str] = set()
            for doc in docs:
                known.add(doc.stored_name)
                path = upload_dir / doc.stored_name
                if not path.is_file():
                    problems.append(f"document {doc.id} of request {doc.request_id}: no file")
                    continue
                try:
                    data = crypto.decrypt_file(path.read_bytes(), path.name)
                except InvalidToken:
                    problems.append(f"document {doc.id}: file does not decrypt")
                    continue
                if hashlib.sha256(data).hexdigest() != doc.sha256 or len(data) != doc.size:
                    problems.append(f"document {doc.id}: file differs from its checksum")
            requests = session.scalars(
                select(ServiceRequest).options(selectinload(ServiceRequest.events))).all()
            audited = dict(session.execute(
                select(AuditLog.request_id, func.count()).where(
                    AuditLog.action == "request_created").group_by(AuditLog.request_id)).all())
            ndocs = dict(session.execute(
                select(RequestDocument.request_id, func.count())
                .group_by(RequestDocument.request_id)).all())
            for req in requests:
                if not any(ev.event_id == "request" for ev in req.events):
                    problems.append(f"request {req.reference}: no 'request' event")
                if audited.get(req.id) != 1:
                    problems.append(f"request {req.reference}: {audited.get(req.id, 0)} "
                                    "request_created audit rows")
                for audit in session.scalars(select(AuditLog).where(
                        AuditLog.request_id == req.id, AuditLog.action == "request_created")):
                    expected = audit.details.get("documents")
                    if expected is not None and expected != ndocs.get(req.id, 0):
                        problems.append(f"request {req.reference}: {ndocs.get(req.id, 0)} "
                                        f"documents, audit says {expected}")
        if not allow_orphans:
            for name in sorted(stored_files(upload_dir) - known):
                problems.append(f"orphan file {name}")
    finally:
        db.dispose()
    return problems


def acknowledged_problems(database_url: str, upload_dir: Path, crypto: Crypto,
                          acked: Mapping[str, Any], pdf: bytes | None = None) -> list[str]:
    """Every acknowledged reference -> `Submission` is stored with the same name, ID number,
    phone and file."""
    problems: list[str] = []
    db = Database(database_url)
    try:
        with db.read_session() as session:
            for ref, sub in acked.items():
                req = session.scalar(select(ServiceRequest).where(
                    ServiceRequest.reference == ref).options(
                        selectinload(ServiceRequest.documents)))
                if req is None:
                    problems.append(f"acknowledged {ref} is missing")
                    continue
                if req.submission_token != sub.token:
                    problems.append(f"{ref}: another submission's token")
                if req.insured_name != sub.name:
                    problems.append(f"{ref}: name differs")
                if crypto.decrypt_text(req.id_number_enc) != sub.id_number:
                    problems.append(f"{ref}: ID number differs")
                if crypto.decrypt_text(req.phone_enc) != sub.phone:
                    problems.append(f"{ref}: phone differs")
                if len(req.documents) != len(sub.files):
                    problems.append(f"{ref}: {len(req.documents)} documents, "
                                    f"sent {len(sub.files)}")
                for doc in req.documents:
                    path = upload_dir / doc.stored_name
                    if not path.is_file():
                        problems.append(f"{ref}: file missing")
                    elif (pdf is not None
                          and crypto.decrypt_file(path.read_bytes(), path.name) != pdf):
                        problems.append(f"{ref}: file content differs")
    finally:
        db.dispose()
    return problems


def count_requests(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.read_session() as session:
            return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)
    finally:
        db.dispose()


def document_names(database_url: str) -> set[str]:
    """Stored names of every document row."""
    db = Database(database_url)
    try:
        with db.read_session() as session:
            return set(session.scalars(select(RequestDocument.stored_name)))
    finally:
        db.dispose()
