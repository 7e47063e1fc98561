"""Opening a request from a filled service form: the checks that need the database (an earlier
submission of the same form, the insurer's register, "already used"), eligibility, the promised
dates, and the write. Shared by the online form (`apply.py`) and the staff console's hotline
intake (`staff/intake.py`), so a request taken on the phone goes through exactly the same
checks as one made online."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app

from service_rules.deadlines import check_admission_date
from service_rules.eligibility import Eligibility, Reason
from service_rules.models import Service
from service_rules.promises import Snapshot, compute_promises, snapshot_service
from service_rules.workcalendar import CalendarRangeError

from ..content import get_rules
from ..messages.links import status_link_maker
from ..storage import get_crypto, get_db, upload_dir
from ..storage.register import assess
from ..storage.requests import (
    AlreadyUsed,
    NewRequest,
    create_request,
    snapshot_digest,
    token_taken,
)
from .access import issue_token, token_is_ours
from .forms import OTHER_CITY, SELF, RequestForm, form_class


@dataclass(frozen=True)
class Opened:
    """The outcome: the reference (an earlier one for the same form: `created` False), or the
    refusal with its reasons; `notes` to tell the applicant calmly (待核实, a date to confirm)."""

    reference: str | None
    created: bool
    refusal: Eligibility | None = None
    notes: tuple[str, ...] = ()


def service_or_404(service_id: str) -> Service:
    service = get_rules().content.service_by_id.get(service_id)
    if service is None:
        abort(404)
    return service


def blank_form(service_id: str, today: dt.date) -> RequestForm:
    """The service's form to fill in, with a submission token issued to this browser."""
    form = form_class_for(service_id)(formdata=None)
    form.today = today
    form.submission_token.data = issue_token(service_id)
    return form


def posted_form(service_id: str, today: dt.date) -> RequestForm:
    """The service's form as posted. A token of a request this browser was not given it for
    (copied, another service's) is never a way to that request's confirmation: such a post
    becomes a fresh submission with a token of its own."""
    form = form_class_for(service_id)()
    form.today = today
    token = form.submission_token.data
    if not token or len(token) > 64 or (not token_is_ours(token, service_id)
                                        and token_taken(get_db(), token)):
        form.submission_token.data = issue_token(service_id)
    return form


def consent_version(text: str) -> str:
    """The version of a consent text: the first 12 hex digits of its SHA-256, so every
    wording ever agreed to (online or read out) is named without anyone keeping a number."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def form_class_for(service_id: str) -> type[RequestForm]:
    rules = get_rules()
    cache: dict[tuple[str, str], type[RequestForm]] = \
        current_app.extensions.setdefault("forms_classes", {})
    key = (rules.content.version, service_id)
    if key not in cache:
        cache[key] = form_class(rules.content, service_id)
    return cache[key]


def service_snapshot_for(service_id: str) -> tuple[Snapshot, str]:
    """The snapshot a new request of this service stores, and its digest: the same for every
    request under one content version, so dumped, parsed and hashed once."""
    rules = get_rules()
    cache: dict[tuple[str, str], tuple[Snapshot, str]] = \
        current_app.extensions.setdefault("service_snapshots", {})
    key = (rules.content.version, service_id)
    if key not in cache:
        data = snapshot_service(rules.content, service_id)
        cache[key] = (Snapshot.parse(data), snapshot_digest(data))
    return cache[key]


def open_request(f: RequestForm, service: Service,
                 files: dict[str, list[tuple[bytes, str, str]]], *, today: dt.date,
                 channel: str, recorded_by: str, consent_method: str) -> Opened:
    """Open the request of a validated form (see the module docstring)."""
    rules = get_rules()
    content = rules.content
    cal = rules.calendar
    service_id = service.id
    # an earlier submission of this very form (double click, refresh, back and resubmit),
    # the insurer's register when one is loaded, then "already used" (no ORM objects)
    crypto = get_crypto()
    use_id = f.selected_use()
    use = service.use(use_id)
    with get_db().read_connection() as conn:
        found = assess(conn, crypto, content, service, use_id=use_id,
                       insured_name=f.insured_name.data, id_number=f.id_number.data,
                       policy_number=f.policy_number.data,
                       policy_effective=f.policy_effective.data,
                       diagnosis=f.diagnosis_date.data,
                       first_diagnosis=f.first_diagnosis.data == "yes", today=today,
                       token=f.submission_token.data)
    if found.existing is not None:
        return Opened(found.existing, created=False)

    eligibility = found.eligibility
    city = f.city.data if hasattr(f, "city") else None
    if city == OTHER_CITY:
        covered = "、".join(c.name for c in content.cities
                           if content.hospitals_in(c.id, service.id))
        reasons = (*eligibility.reasons, Reason(
            "city_not_covered",
            f"{service.name}目前只在这些城市提供：{covered}。"))
        eligibility = Eligibility(False, reasons)
    if not eligibility.allowed:
        return Opened(None, created=False, refusal=eligibility)

    events = {"request": today, **f.event_dates()}
    snapshot, digest = service_snapshot_for(service_id)
    try:
        promises = compute_promises(cal, snapshot, use_id, events)
    except CalendarRangeError:  # pragma: no cover - dates are bounded by the form
        promises = []
    details: dict[str, Any] = {}
    for event_id, day in f.event_dates().items():
        details[f"{event_id}_date"] = day.isoformat()
    if hasattr(f, "admission_date"):
        details["admission_date"] = f.admission_date.data.isoformat()
        if getattr(f, "admission_staff_decide", None):
            details["admission_date_to_confirm"] = f.admission_staff_decide
    if hasattr(f, "sample_type"):
        details["sample_type"] = f.sample_type.data
    relation = f.applicant_relation.data
    new = NewRequest(
        service_id=service_id, use_id=use_id, insured_name=f.insured_name.data,
        id_number=f.id_number.data, phone=f.phone.data, applicant_relation=relation,
        applicant_name=f.applicant_name.data if relation != SELF else None,
        applicant_phone=f.applicant_phone.data if relation != SELF else None,
        policy_number=found.policy_number, policy_effective=found.policy_effective,
        diagnosis_date=f.diagnosis_date.data, first_diagnosis=f.first_diagnosis.data == "yes",
        city_id=city, hospital_id=(f.hospital.data or None) if hasattr(f, "hospital") else None,
        details=details, consent_text=content.product.sensitive_consent,
        submission_token=f.submission_token.data, content_version=content.version,
        service_snapshot=dict(snapshot.data), snapshot_digest=digest, request_date=today,
        events={k: v for k, v in events.items() if k != "request"},
        files=[(doc_type, data, ext, mime) for doc_type, items in files.items()
               for data, ext, mime in items],
        file_names=[name for doc_type, items in files.items()
                    for name, _item in itertools.zip_longest(
                        getattr(f, "accepted_names", {}).get(doc_type, [])[:len(items)],
                        items)],
        initial_promises=[p.as_dict() for p in promises],
        use_limit=use.times if use.limited else None,
        register_status=found.register_status, register_import_id=found.register_import_id,
        register_note=found.register_note, policy_year_start=found.policy_year_start,
        channel=channel, recorded_by=recorded_by, consent_method=consent_method,
        consent_version=consent_version(content.product.sensitive_consent),
        notice_version=content.privacy_file.version if content.privacy_file.present else None,
        status_link=status_link_maker(current_app.config, crypto),
    )
    try:
        reference, created = create_request(get_db(), crypto, upload_dir(), new,
                                            token_checked=True)
    except AlreadyUsed:
        # a simultaneous submission for the same insured took the use first
        refusal = Eligibility(False, (Reason("already_used",
                                             f"本保单年度的{use.name}已经使用过。"),))
        return Opened(None, created=False, refusal=refusal)
    notes = tuple(n for n in (found.applicant_message, details.get("admission_date_to_confirm"))
                  if n) if created else ()
    return Opened(reference, created=created, notes=notes)


def check_service_fields(f: RequestForm, service: Service, today: dt.date) -> None:
    """Checks that depend on the content or on several fields."""
    content = get_rules().content
    if hasattr(f, "city") and hasattr(f, "hospital"):
        city, hospital = f.city.data, f.hospital.data
        if city and city != OTHER_CITY and not f.city.errors:
            offered = {h.id for h in content.hospitals_in(city, service.id)}
            if not hospital:
                f.hospital.errors = [*f.hospital.errors, "请选择医院。"]
            elif hospital not in offered:
                city_name = content.city_by_id[city].name if city in content.city_by_id else ""
                f.hospital.errors = [*f.hospital.errors,
                                     f"所选医院不在{city_name}，或不提供{service.name}服务，"
                                     "请重新选择。"]
    if hasattr(f, "admission_date") and f.admission_date.data and not f.admission_date.errors:
        booking = service.advance_booking
        assert booking is not None
        day = f.admission_date.data
        if day > today + dt.timedelta(days=366):
            f.admission_date.errors = [*f.admission_date.errors,
                                       "入院日期太晚了，请核对年份（可预约一年以内的日期）。"]
        else:
            check = check_admission_date(get_rules().calendar, today, day, booking)
            if not check.ok:
                f.admission_date.errors = [*f.admission_date.errors, check.message]
            elif check.staff_decide:  # rests on a provisional day: staff decide
                f.admission_staff_decide = check.message
    use_field = getattr(f, "use_id", None)
    use = use_field.data if use_field is not None else service.uses[0].id
    for name, _event_id, uses in f.event_fields:
        field = getattr(f, name)
        if field.data is not None and use not in uses:
            field.data = None  # e.g. an admission-slip date given for an outpatient request
            field.raw = ""
        elif (field.data is not None and f.diagnosis_date.data
              and (f.diagnosis_date.data - field.data).days > 366):
            field.errors = [*field.errors, f"{field.label.text}比确诊日期早一年以上，请核对。"]
