"""Queue, request page, events, revealing the ID number, document downloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user

from service_rules.deadlines import SHANGHAI, shanghai_today
from service_rules.eligibility import VERIFICATION_NAMES
from service_rules.identity import format_reference, normalise_reference
from service_rules.models import ACTOR_NAMES
from service_rules.promises import flow_progress, snapshot_model
from service_rules.retention import DELETED_NAMES
from service_rules.wording import chinese_date
from service_rules.workflow import (
    BY_APPLICANT,
    CHANNEL_NAMES,
    CLOSED_STATUSES,
    CONSENT_NAMES,
    STATUS_NAMES,
    URGENCY_NAMES,
    next_event,
    staff_events,
)

from ..content import get_rules
from ..messages.links import status_link_maker
from ..storage import audit, get_crypto, get_db, upload_dir
from ..storage.casework import (
    EventNotAllowed,
    RequestClosed,
    document_of,
    event_name,
    find_request,
    outcomes_of,
    record_event,
    request_day,
)
from ..storage.files import read as read_upload
from ..storage.models import ServiceRequest
from ..storage.register import import_by_id
from ..storage.staff import is_supervisor
from ..storage.status_links import LinkIssuer
from ..storage.withdrawal import privacy_state
from . import bp
from .casework_context import casework_parts
from .forms import (
    EventForm,
    PlainForm,
    RevealForm,
    event_details,
    event_problems,
    fields_for,
)

REVEALABLE = {"id_number": "身份证号码", "phone": "被保险人手机号码",
              "applicant_phone": "填写人手机号码"}


def today() -> dt.date:
    """Today in Asia/Shanghai, or `app.config["TODAY"]` (a date or a callable) when set."""
    value = current_app.config.get("TODAY")
    if callable(value):
        value = value()
    if isinstance(value, dt.date):
        return value
    return shanghai_today()


def actor() -> str:
    return str(current_user.username)


@bp.context_processor
def _staff_context() -> dict[str, Any]:
    content = get_rules().content
    return {
        "product_name": content.product.name,
        "hotline": content.product.hotline,
        "chinese_date": chinese_date,
        "format_reference": format_reference,
        "status_names": STATUS_NAMES,
        "urgency_names": URGENCY_NAMES,
        # formdata=None: never parse the request body here (a too-large body would raise
        # again while the 413 page renders)
        "logout_form": PlainForm(formdata=None),
        "staff_today": today(),
        "beijing": beijing,
        "audit_names": AUDIT_NAMES,
        "request_day": request_day,
        "detail_labels": DETAIL_LABELS,
        "who": who,
        "channel_names": CHANNEL_NAMES,
        "consent_names": CONSENT_NAMES,
    }


# the online form's service-specific answers (ServiceRequest.details)
DETAIL_LABELS = {
    "admission_slip_issued_date": "住院条开具日期", "admission_date": "入院日期",
    "sample_type": "样本类型", "sample_received_date": "实验室收到样本日期",
    "admission_date_to_confirm": "入院日期待核实（取决于暂定的放假安排）",
}


AUDIT_NAMES = {
    "request_created": "提交申请", "request_viewed": "查看申请", "event_recorded": "记录进展",
    "personal_data_revealed": "显示完整号码", "document_downloaded": "下载资料",
    "report_exported": "导出报表", "roster_imported": "导入保单名册",
    "roster_refused": "保单名册未导入", "request_assigned": "分配申请",
    "request_unassigned": "取消分配",
    "request_withdrawn": "申请人撤回申请", "consent_withdrawn": "申请人撤回同意",
    "personal_data_deleted": "删除个人信息", "data_copy_downloaded": "申请人下载个人信息副本",
    "note_added": "添加内部备注", "event_undone": "撤销进展", "request_reopened": "重新打开申请",
    "staff_created": "创建账号", "staff_password_reset": "重设密码",
    "staff_deactivated": "停用账号", "staff_reactivated": "重新启用账号",
    "status_links_revoked": "停止进度链接",
}


def who(actor_name: str) -> str:
    """Who recorded something, as staff read it: 申请人 for the applicant's own form."""
    return "申请人" if actor_name == BY_APPLICANT else actor_name


def beijing(moment: dt.datetime) -> str:
    """An aware instant as Beijing time, to the minute."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# -- queue and search: queue.py -------------------------------------------------------------
def _service_name(req: ServiceRequest) -> str:
    service = snapshot_model(req.service_snapshot)
    if len(service.uses) > 1:
        return f"{service.name}·{service.use(req.use_id).name}"
    return service.name


def _city_name(city_id: str | None) -> str:
    if not city_id:
        return "—"
    city = get_rules().content.city_by_id.get(city_id)
    return city.name if city else city_id


# -- request page -----------------------------------------------------------------------------
def _hospital_choices(req: ServiceRequest) -> list[tuple[str, str]]:
    content = get_rules().content
    hospitals = content.hospitals_in(req.city_id, req.service_id) if req.city_id else []
    if not hospitals:
        hospitals = [h for h in content.hospitals if req.service_id in h.services]
    city_names = {c.id: c.name for c in content.cities}
    return [("", "请选择")] + [(h.id, f"{city_names.get(h.city, h.city)} · {h.name}")
                             for h in hospitals]


def _sample_choices(req: ServiceRequest) -> list[tuple[str, str]]:
    service = snapshot_model(req.service_snapshot)
    return [("", "请选择")] + [(s.id, s.name) for s in service.samples]


def _event_forms(req: ServiceRequest, next_id: str | None,
                 posted: tuple[str, EventForm] | None = None) -> list[dict[str, Any]]:
    service = snapshot_model(req.service_snapshot)
    rules = get_rules()
    forms = []
    for eid in staff_events(service, req.use_id):
        if posted and posted[0] == eid:
            form = posted[1]
        else:
            form = EventForm(prefix=eid, formdata=None, data={"event_date": today()})
        form.hospital_id.choices = _hospital_choices(req)
        form.sample_type.choices = _sample_choices(req)
        forms.append({"event_id": eid, "name": event_name(rules, req.service_snapshot, eid),
                      "form": form, "fields": fields_for(eid), "is_next": eid == next_id,
                      "open": bool(posted and posted[0] == eid)})
    return forms


def _render_request(req: ServiceRequest, *, status: int = 200,
                    posted: tuple[str, EventForm] | None = None,
                    revealed: dict[str, str] | None = None,
                    casework: dict[str, Any] | None = None) -> Any:
    rules = get_rules()
    content = rules.content
    snapshot = req.service_snapshot
    service = snapshot_model(snapshot)
    events = req.event_dates()
    flow, current = flow_progress(snapshot, events)
    step_events = {step.id: step.event for step in service.flow}
    for step in flow:
        step["actor_name"] = ACTOR_NAMES.get(step["actor"], step["actor"])
        step["event"] = step_events.get(step["id"])
        step["event_name"] = event_name(rules, snapshot, step["event"]) if step["event"] else ""
        step["recorded_on"] = events.get(step["event"]) if step["event"] else None
    nxt = next_event(service, req.use_id, events) if req.status not in CLOSED_STATUSES else None
    audit_rows = audit.entries_for(get_db(), req.id, without_views=True)
    doc_names = {d_id: d.name for d_id, d in content.document_by_id.items()}
    sample_names = {s.id: s.name for s in service.samples}
    hospital = content.hospital_by_id.get(req.hospital_id) if req.hospital_id else None
    return render_template(
        "staff/request.html", req=req, service=service, service_label=_service_name(req),
        city_name=_city_name(req.city_id), hospital=hospital,
        outcomes=outcomes_of(rules, req, today()), flow=flow, current_step=current,
        next_event=nxt, next_event_name=event_name(rules, snapshot, nxt) if nxt else None,
        recorded=[{"e": e, "name": event_name(rules, snapshot, e.event_id),
                   "hospital": content.hospital_by_id.get(e.details.get("hospital_id", ""))}
                  for e in req.events],
        event_forms=_event_forms(req, nxt, posted) if req.status not in CLOSED_STATUSES else [],
        closed=req.status in CLOSED_STATUSES, audit_rows=audit_rows, doc_names=doc_names,
        page_views=audit.views_of(get_db(), req.id),
        supervisor=is_supervisor(get_db(), current_user.user_id),
        revealed=revealed or {}, reveal_form=RevealForm(), revealable=REVEALABLE,
        sample_names=sample_names,
        detail_value=lambda key, value: sample_names.get(value, value)
        if key == "sample_type" else value,
        current_content_version=content.version,
        rules_current=req.content_version == content.version,
        register_import=import_by_id(get_db(), req.register_import_id),
        verification_names=VERIFICATION_NAMES,
        privacy=privacy_state(get_db(), req.reference), deleted_names=DELETED_NAMES,
        grace_days=content.privacy_file.retention.withdrawn_grace_days,
        **casework_parts(req, casework),
    ), status


def _request_or_404(reference: str) -> ServiceRequest:
    req = find_request(get_db(), normalise_reference(reference))
    if req is None:
        abort(404)
    return req


@bp.get("/requests/<reference>")
def request_page(reference: str) -> Any:
    req = _request_or_404(reference)
    audit.record(get_db(), actor(), "request_viewed", req)
    return _render_request(req)


def _status_link(reference: str) -> LinkIssuer | None:
    """Issues the applicant's status link for the message of an event (PUBLIC_BASE_URL set),
    stored in the event's transaction."""
    return status_link_maker(current_app.config, get_crypto())


@bp.post("/requests/<reference>/events/<event_id>")
def add_event(reference: str, event_id: str) -> Any:
    req = _request_or_404(reference)
    service = snapshot_model(req.service_snapshot)
    if event_id not in staff_events(service, req.use_id):
        abort(404)
    if req.status in CLOSED_STATUSES:
        flash("这个申请已经结束，不能再记录新的进展。")
        return redirect(url_for("staff.request_page", reference=req.reference)), 303
    form = EventForm(prefix=event_id)
    form.hospital_id.choices = _hospital_choices(req)
    form.sample_type.choices = _sample_choices(req)
    valid = form.validate()
    data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    problems = event_problems(
        event_id, data, today=today(), request_date=request_day(req),
        hospital_ids={c for c, _ in form.hospital_id.choices if c},
        sample_ids={c for c, _ in form.sample_type.choices if c})
    for name, message in problems.items():
        form[name].errors = [*form[name].errors, message]
    if not valid or problems:
        if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
            flash("页面停留时间较长，请再提交一次。")
        return _render_request(req, status=422, posted=(event_id, form))
    hospital = get_rules().content.hospital_by_id.get(data.get("hospital_id") or "")
    try:
        done = record_event(get_db(), get_rules(), req.reference, event_id, data["event_date"],
                            event_details(event_id, data), actor(),
                            hospital_name=hospital.name if hospital else None,
                            status_link=_status_link(req.reference))
    except RequestClosed:
        flash("这个申请已经结束，不能再记录新的进展。")
        return redirect(url_for("staff.request_page", reference=req.reference), 303)
    except EventNotAllowed:
        abort(404)
    name = event_name(get_rules(), req.service_snapshot, event_id)
    message = f"已记录：{name}（{data['event_date'].isoformat()}）。"
    for p in done.after:
        if p.promise_id in done.changed and p.deadline is not None:
            mark = "（暂定）" if p.deadline.provisional else ""
            message += f"新的承诺日期：{p.promise}最晚 {p.deadline.date.isoformat()}{mark}。"
    if done.status_after != done.status_before:
        message += f"申请状态：{STATUS_NAMES.get(done.status_after, done.status_after)}。"
    if done.message_queued:
        message += "已排队通知申请人。"
    flash(message)
    return redirect(url_for("staff.request_page", reference=req.reference), 303)


@bp.post("/requests/<reference>/reveal")
def reveal(reference: str) -> Any:
    """Show a personal number in full: a deliberate action, written to the audit log."""
    req = _request_or_404(reference)
    if req.personal_data_deleted_at is not None:
        flash("这个申请的个人信息已经删除，没有可以显示的号码。")
        return redirect(url_for("staff.request_page", reference=req.reference), 303)
    form = RevealForm()
    field = form.field.data if form.validate() else None
    if field not in REVEALABLE:
        abort(400)
    crypto = get_crypto()
    if field == "id_number":
        value, masked = crypto.decrypt_text(req.id_number_enc), req.id_number_masked
    elif field == "phone":
        value, masked = crypto.decrypt_text(req.phone_enc), req.phone_masked
    else:
        if not req.applicant_phone_enc:
            abort(404)
        value = crypto.decrypt_text(req.applicant_phone_enc)
        masked = req.applicant_phone_masked or ""
    audit.record(get_db(), actor(), "personal_data_revealed", req, field=field, masked=masked)
    return _render_request(req, revealed={field: value})


@bp.get("/requests/<reference>/documents/<int:document_id>")
def download(reference: str, document_id: int) -> Any:
    req = _request_or_404(reference)
    doc = document_of(req, document_id)
    if doc is None:
        abort(404)
    data = read_upload(upload_dir(), get_crypto(), doc.stored_name)
    audit.record(get_db(), actor(), "document_downloaded", req, document_id=doc.id,
                 document_type=doc.document_type, sha256=doc.sha256)
    filename = f"{req.reference}-{doc.document_type}-{doc.id}.{doc.extension}"
    response = Response(data, mimetype=doc.mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
