"""Apply for a service: the form, checks, eligibility, storage, confirmation and .ics."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import FileStorage

from service_rules.deadlines import check_admission_date, shanghai_today
from service_rules.eligibility import Eligibility, Reason
from service_rules.identity import format_reference
from service_rules.models import Service
from service_rules.promises import Snapshot, compute_promises, snapshot_service
from service_rules.wording import promise_sentence
from service_rules.workcalendar import CalendarRangeError

from ..content import get_rules
from ..extensions import csrf, limiter
from ..storage import get_crypto, get_db, upload_dir
from ..storage.register import assess
from ..storage.requests import (
    AlreadyUsed,
    NewRequest,
    create_request,
    load_summary,
    snapshot_digest,
)
from .access import allow_view, may_view
from .forms import (
    OTHER_CITY,
    SELF,
    RequestForm,
    field_errors,
    field_groups,
    form_class,
    validate_keeping_values,
)
from .ics import build_ics
from .uploads import check_uploads
from .viewmodels import request_view

bp = Blueprint("apply", __name__, url_prefix="/apply", template_folder="templates")

CSRF_MESSAGE = ("页面停留时间较长，为了安全需要重新确认。您填写的内容都还在，"
                "请重新选择要上传的文件，然后再次提交。")
FILES_NOT_KEPT = "出于安全考虑，浏览器不会保留已选择的文件：请重新选择要上传的文件。"
ALREADY_SUBMITTED = "这份申请已经提交过，下面是当时提交的申请（没有重复提交）。"


def _form_class(service_id: str) -> type[RequestForm]:
    rules = get_rules()
    cache: dict[tuple[str, str], type[RequestForm]] = \
        current_app.extensions.setdefault("forms_classes", {})
    key = (rules.content.version, service_id)
    if key not in cache:
        cache[key] = form_class(rules.content, service_id)
    return cache[key]


def _service_snapshot(service_id: str) -> tuple[Snapshot, str]:
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


def _service_or_404(service_id: str) -> Service:
    service = get_rules().content.service_by_id.get(service_id)
    if service is None:
        abort(404)
    return service


@bp.get("/")
def index() -> str:
    content = get_rules().content
    return render_template("applicant/apply_index.html", services=content.services,
                           promise_sentence=promise_sentence, content=content)


def _render_form(form: RequestForm, service: Service, status: int = 200,
                 refusal: Eligibility | None = None, notice: str | None = None
                 ) -> tuple[str, int]:
    content = get_rules().content
    errors = field_errors(form)
    had_files = request.method == "POST" and any(
        isinstance(f, FileStorage) and f.filename for f in request.files.values())
    return render_template(
        "applicant/apply_form.html", form=form, service=service, content=content,
        groups=field_groups(form), errors=errors, refusal=refusal, notice=notice,
        files_lost=had_files and (errors or refusal or notice),
        files_lost_text=FILES_NOT_KEPT, promise_sentence=promise_sentence,
    ), status


@bp.get("/<service_id>")
def form(service_id: str) -> tuple[str, int]:
    service = _service_or_404(service_id)
    f = _form_class(service_id)(formdata=None)
    f.today = shanghai_today()
    f.submission_token.data = secrets.token_urlsafe(24)
    return _render_form(f, service)


def _submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


@bp.post("/<service_id>")
@csrf.exempt  # checked by form.validate(): an expired token re-shows the form, values kept
@limiter.limit(_submit_limit, methods=["POST"])
def submit(service_id: str) -> Any:
    service = _service_or_404(service_id)
    rules = get_rules()
    content = rules.content
    cal = rules.calendar
    today = shanghai_today()
    f = _form_class(service_id)()
    f.today = today
    if not f.submission_token.data or len(f.submission_token.data) > 64:
        f.submission_token.data = secrets.token_urlsafe(24)

    valid, csrf_failed = validate_keeping_values(f)
    files = check_uploads(f) if not csrf_failed else {}
    _check_service_fields(f, service, today)
    valid = valid and not any(field.errors for field in f._fields.values())
    if csrf_failed:
        return _render_form(f, service, 400, notice=CSRF_MESSAGE)
    if not valid:
        return _render_form(f, service, 422)

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
        flash(ALREADY_SUBMITTED)
        allow_view(found.existing)
        return redirect(url_for("apply.confirmation", reference=found.existing), 303)

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
        return _render_form(f, service, 422, refusal=eligibility)

    events = {"request": today, **f.event_dates()}
    snapshot, digest = _service_snapshot(service_id)
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
        initial_promises=[p.as_dict() for p in promises],
        use_limit=use.times if use.limited else None,
        register_status=found.register_status, register_import_id=found.register_import_id,
        register_note=found.register_note, policy_year_start=found.policy_year_start,
    )
    try:
        reference, created = create_request(get_db(), crypto, upload_dir(), new,
                                            token_checked=True)
    except AlreadyUsed:
        # a simultaneous submission for the same insured took the use first
        refusal = Eligibility(False, (Reason("already_used",
                                             f"本保单年度的{use.name}已经使用过。"),))
        return _render_form(f, service, 422, refusal=refusal)
    if not created:
        flash(ALREADY_SUBMITTED)
    else:
        for note in (found.applicant_message, details.get("admission_date_to_confirm")):
            if note:
                flash(note)  # 待核实 or an admission date staff confirm: said calmly
    allow_view(reference)
    return redirect(url_for("apply.confirmation", reference=reference), 303)


def _check_service_fields(f: RequestForm, service: Service, today: dt.date) -> None:
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


@bp.get("/confirmation/<reference>")
def confirmation(reference: str) -> Any:
    if not may_view(reference):
        flash("为了保护您的信息，请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    view = request_view(get_rules(), req)
    return render_template("applicant/confirmation.html", view=view)


@bp.get("/confirmation/<reference>.ics")
def calendar_file(reference: str) -> Response:
    if not may_view(reference):
        abort(404)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    view = request_view(get_rules(), req)
    body = build_ics(view.calendar_items(), calendar_name=f"{view.service_name} 服务承诺")
    filename = f"promise-{format_reference(reference)}.ics"
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
