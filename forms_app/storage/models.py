"""Storage model (SQLAlchemy 2). Shared by the request app and the staff console.

Personal data at rest:
- ID numbers and phone numbers are stored encrypted (Fernet, see `crypto.py`) next to a masked
  form for display (`110105********002X`, `138****8000`) and keyed hashes (HMAC) for lookups;
- uploaded files are stored encrypted under random names in `UPLOAD_DIR` (never a static folder).

Promises are never stored as the source of truth: they are computed from `service_snapshot`
(the service's rules when the request was made, kept once per distinct snapshot in
`ServiceSnapshot`) and the request's events, by `service_rules.promises.compute_promises`.
`initial_promises` keeps what the confirmation page showed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from service_rules.workflow import (
    CHANNEL_ONLINE,
    CONSENT_ONLINE_FORM,
    STATUS_OPEN,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class ServiceSnapshot(Base):
    """One distinct service snapshot (`service_rules.promises.snapshot_service`), shared by
    every request made under it; `digest` is the SHA-256 of its canonical JSON."""

    __tablename__ = "service_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    content_version: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class ServiceRequest(Base):
    __tablename__ = "service_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    service_id: Mapped[str] = mapped_column(String(64))
    use_id: Mapped[str] = mapped_column(String(64))
    # indexed with the due date in ix_service_request_queue (migration 0009)
    status: Mapped[str] = mapped_column(String(32), default=STATUS_OPEN)

    insured_name: Mapped[str] = mapped_column(String(100))
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    id_hash: Mapped[str] = mapped_column(String(64))
    id_last4_hash: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_masked: Mapped[str] = mapped_column(String(11))

    applicant_relation: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str | None] = mapped_column(String(100))
    applicant_phone_enc: Mapped[str | None] = mapped_column(Text)
    applicant_phone_masked: Mapped[str | None] = mapped_column(String(11))

    policy_number: Mapped[str] = mapped_column(String(64))
    # empty once the personal data is deleted (migration 0007)
    policy_effective: Mapped[dt.date | None] = mapped_column(Date)
    policy_year_start: Mapped[dt.date] = mapped_column(Date)
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    first_diagnosis: Mapped[bool] = mapped_column(Boolean)
    city_id: Mapped[str | None] = mapped_column(String(64))
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    # service-specific answers: admission_slip_date, admission_date, sample_type, ...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    consent_text: Mapped[str] = mapped_column(Text)
    # how the request came in (online / hotline) and how consent was given (migration 0006):
    # on the hotline staff read the consent out and record who did and which version
    channel: Mapped[str] = mapped_column(String(16), default=CHANNEL_ONLINE)
    consent_method: Mapped[str] = mapped_column(String(16), default=CONSENT_ONLINE_FORM)
    consent_recorded_by: Mapped[str | None] = mapped_column(String(100))
    consent_version: Mapped[str | None] = mapped_column(String(32))
    # privacy (migration 0007): the notice version shown with the consent; when the applicant
    # withdrew the request or the consent; when the personal data was deleted and why
    # (service_rules.retention). Deleted: names, numbers, health data, files, messages gone.
    notice_version: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    personal_data_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    deletion_reason: Mapped[str | None] = mapped_column(String(32))
    # every status link of the request stopped at this time (migration 0011): the legacy
    # signed links (`?t=`), which have no `status_link` row, are refused from then on
    status_links_revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # one per rendered form: a second POST of the same form finds the first request
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)

    content_version: Mapped[str] = mapped_column(String(32))
    # the service's rules when the request was made, stored once per distinct snapshot
    # (migration 0004); read it as `service_snapshot`
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("service_snapshot.id"))
    snapshot: Mapped[ServiceSnapshot] = relationship(lazy="joined", innerjoin=True)
    # promises as shown on the confirmation page: [{"promise_id", "date", "rule", ...}]
    initial_promises: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # against the insurer's register (migration 0005): verified / pending (待核实: a register
    # is loaded but did not confirm the applicant) / unverified (未核实: no register loaded);
    # the import the check read, and for pending why (no personal data)
    register_status: Mapped[str] = mapped_column(String(16), default="unverified")
    register_import_id: Mapped[int | None] = mapped_column(ForeignKey("roster_import.id"))
    register_note: Mapped[str | None] = mapped_column(String(200))
    # the staff queue (migration 0009): the earliest due date of a promise whose clock runs and
    # that is not fulfilled (None when none runs, and for a closed request) and which promise,
    # a copy kept by storage/queue_order.refresh_due_state for ordering in SQL; who works on
    # it (a staff username); keyed hashes (HASH_KEY) of the name and phones for the search
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    next_due_promise: Mapped[str | None] = mapped_column(String(64))
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    insured_name_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    applicant_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    documents: Mapped[list[RequestDocument]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestDocument.id")
    # the events that count: an undone one (migration 0010) is left out of promises, status,
    # timeline and messages by this join, wherever a request's events are read
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan",
        primaryjoin="and_(ServiceRequest.id == RequestEvent.request_id, "
                    "RequestEvent.undone_at.is_(None))",
        order_by="(RequestEvent.event_date, RequestEvent.id)")

    # indexes: only what a query uses (migration 0003): reference and submission_token
    # (unique), the "already used" check and the staff queue's (migration 0009) below
    __table_args__ = (
        Index("ix_service_request_use_lookup", "policy_number", "id_hash", "use_id",
              "policy_year_start"),
        # the queue: one ordered walk per status (storage/queue_reads.py), counts by due date
        Index("ix_service_request_queue", "status", "next_due", "created_at", "id"),
        # "mine": only assigned rows, so an "unassigned" read never picks this index
        Index("ix_service_request_assigned", "assigned_to", "status", "next_due", "created_at",
              "id",
              sqlite_where=text("assigned_to IS NOT NULL"),
              postgresql_where=text("assigned_to IS NOT NULL")),
        # the recently withdrawn list above the queue
        Index("ix_service_request_withdrawn_at", "withdrawn_at"),
        Index("ix_service_request_consent_withdrawn_at", "consent_withdrawn_at"),
    )

    @property
    def service_snapshot(self) -> dict[str, Any]:
        """{"service": Service.model_dump(mode="json"), "events": {event_id: Event dump},
        "product": {...}}: what `promises.snapshot_service` gave when the request was made."""
        return self.snapshot.snapshot

    def event_dates(self) -> dict[str, dt.date]:
        """Latest date of each event recorded so far (the input of the promise engine)."""
        dates: dict[str, dt.date] = {}
        for ev in self.events:
            if ev.event_id not in dates or ev.event_date > dates[ev.event_id]:
                dates[ev.event_id] = ev.event_date
        return dates


class RequestDocument(Base):
    __tablename__ = "request_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"),
                                            index=True)
    document_type: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    extension: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the file's name as the applicant chose it, sanitised (migration 0011): shown to the
    # applicant only, on their own pages; deleted with the row
    display_name: Mapped[str | None] = mapped_column(String(80))

    request: Mapped[ServiceRequest] = relationship(back_populates="documents")


class RequestEvent(Base):
    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"),
                                            index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    # the calendar date in Asia/Shanghai the event happened on (promises count from it)
    event_date: Mapped[dt.date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # BY_APPLICANT or a staff username
    recorded_by: Mapped[str] = mapped_column(String(100))
    # recorded by mistake, or the end of a request staff reopened (migration 0010): kept for
    # the audit, counted nowhere; the reason is free text, erased with the personal data
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(100))
    undo_reason: Mapped[str | None] = mapped_column(String(500))

    request: Mapped[ServiceRequest] = relationship(back_populates="events")


class CaseworkNote(Base):
    """A staff-internal note on a request (migration 0010): never shown on the applicant's
    pages, messages or API. The text may hold health data: encrypted with DATA_KEY (Fernet),
    deleted with the request's personal data."""

    __tablename__ = "casework_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"),
                                            index=True)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_enc: Mapped[str] = mapped_column(Text)


class StatusLink(Base):
    """A status link given to the applicant (migration 0011): a random token of which only
    the keyed hash is kept, the request it opens, its expiry and its revocation."""

    __tablename__ = "status_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"),
                                            index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("uq_status_link_token_hash", "token_hash", unique=True),)


class AuditLog(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), index=True)
    # never personal data in clear: masked values only
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Outbox(Base):
    """Messages to the applicant, queued in the same transaction as the change they report."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # "sms", "email", "log"
    recipient_enc: Mapped[str | None] = mapped_column(Text)
    recipient_masked: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # not before this time (migration 0008): a worker's claim while it sends, then the back-off
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StaffUser(Base):
    """A staff console account (issue 5). Passwords are stored as werkzeug hashes only."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # bumped when the password changes: sessions signed in before that are refused
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # supervisors may import the insurer's policy roster (migration 0005)
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False)


class RosterImport(Base):
    """One import of the insurer's roster (applied or refused): who, when, which file (its
    SHA-256), the counts and the refused lines with their reasons (never personal data)."""

    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    file_sha256: Mapped[str] = mapped_column(String(64))
    # applied: the rows were imported; refused: the whole file was refused, nothing changed
    outcome: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    file_problem: Mapped[str | None] = mapped_column(Text)
    # [[line, reason], ...]: the first refused rows (the rest are counted)
    refused_rows: Mapped[list[Any]] = mapped_column(JSON, default=list)


class PolicyRecord(Base):
    """One insured's policy from the insurer's roster. The ID number only as a keyed hash (to
    find the record) and encrypted, like a request's."""

    __tablename__ = "policy_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_number: Mapped[str] = mapped_column(String(32))
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    insured_name: Mapped[str] = mapped_column(String(100))
    first_effective: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    waiting_period_days: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[str | None] = mapped_column(String(64))
    # keyed hash of the row's values: an import tells changed rows from unchanged ones
    row_hash: Mapped[str] = mapped_column(String(64))
    # the import that last added or changed the record, and its line in that file
    import_id: Mapped[int] = mapped_column(ForeignKey("roster_import.id"))
    source_line: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("uq_policy_record_policy_insured", "policy_number", "id_hash", unique=True),
    )
