"""Apply for a service: the form, checks, eligibility, storage, confirmation and .ics."""

from __future__ import annotations

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

from service_rules.deadlines import shanghai_today
from service_rules.eligibility import Eligibility
from service_rules.identity import format_reference
from service_rules.models import Service
from service_rules.wording import promise_sentence
from service_rules.workflow import BY_APPLICANT, CHANNEL_ONLINE, CONSENT_ONLINE_FORM

from ..content import get_rules
from ..extensions import csrf, limiter
from ..storage import get_db
from ..storage.requests import (
    load_summary,
)
from ..storage.submitted import submitted_data
from .access import allow_view, may_view
from .forms import (
    RequestForm,
    field_errors,
    field_groups,
    validate_keeping_values,
)
from .ics import build_ics
from .kept_files import forget, keep_for_retry, kept_for
from .opening import blank_form, check_service_fields, open_request, posted_form, service_or_404
from .uploads import check_uploads
from .viewmodels import request_view, submitted_view

bp = Blueprint("apply", __name__, url_prefix="/apply", template_folder="templates")

CSRF_MESSAGE = ("页面停留时间较长，为了安全需要重新确认。您填写的内容和选择的文件都还在，"
                "请核对后再次提交。")
FILES_KEPT = "您已选择的文件我们替您保留了，不用重新选择；如需更换，直接选择新的文件即可。"
FILES_NOT_KEPT = "出于安全考虑，浏览器不会保留已选择的文件：请重新选择要上传的文件。"
ALREADY_SUBMITTED = "这份申请已经提交过，下面是当时提交的申请（没有重复提交）。"


@bp.get("/")
def index() -> str:
    content = get_rules().content
    return render_template("applicant/apply_index.html", services=content.services,
                           promise_sentence=promise_sentence, content=content)


def _render_form(form: RequestForm, service: Service, status: int = 200,
                 refusal: Eligibility | None = None, notice: str | None = None,
                 kept: dict[str, list[tuple[str, str]]] | None = None) -> tuple[str, int]:
    content = get_rules().content
    errors = field_errors(form)
    had_files = request.method == "POST" and any(
        isinstance(f, FileStorage) and f.filename for f in request.files.values())
    kept = kept or {}
    return render_template(
        "applicant/apply_form.html", form=form, service=service, content=content,
        groups=field_groups(form), errors=errors, refusal=refusal, notice=notice,
        # files kept for the retry, by field name: [(reference, shown name)]
        kept={f"doc_{doc_id}": files for doc_id, files in kept.items()},
        files_kept=bool(kept), files_kept_text=FILES_KEPT,
        files_lost=had_files and not kept and bool(errors or refusal or notice),
        files_lost_text=FILES_NOT_KEPT, promise_sentence=promise_sentence,
    ), status


@bp.get("/<service_id>")
def form(service_id: str) -> tuple[str, int]:
    service = service_or_404(service_id)
    f = blank_form(service_id, shanghai_today())
    return _render_form(f, service)


def _submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


@bp.post("/<service_id>")
@csrf.exempt  # checked by form.validate(): an expired token re-shows the form, values kept
@limiter.limit(_submit_limit, methods=["POST"])
def submit(service_id: str) -> Any:
    service = service_or_404(service_id)
    today = shanghai_today()
    f = posted_form(service_id, today)

    # files kept from an earlier try stand in for fields where nothing new was chosen
    chosen = set(f.files())
    kept = {doc_id: files for doc_id, files in
            kept_for([n.removeprefix("doc_") for n, _l, _r in f.uploads]).items()
            if doc_id not in chosen}
    valid, csrf_failed = validate_keeping_values(f)
    files = check_uploads(f, kept=kept)
    check_service_fields(f, service, today)
    valid = valid and not any(field.errors for field in f._fields.values())

    def again(status: int, **kwargs: Any) -> tuple[str, int]:
        new = {doc_id: items for doc_id, items in files.items() if doc_id not in kept}
        return _render_form(f, service, status,
                            kept=keep_for_retry(new, f.accepted_names, kept), **kwargs)

    if csrf_failed:
        return again(400, notice=CSRF_MESSAGE)
    if not valid:
        return again(422)
    opened = open_request(f, service, files, today=today, channel=CHANNEL_ONLINE,
                          recorded_by=BY_APPLICANT, consent_method=CONSENT_ONLINE_FORM)
    if opened.refusal is not None:
        return again(422, refusal=opened.refusal)
    assert opened.reference is not None
    forget(kept)
    if not opened.created:
        flash(ALREADY_SUBMITTED)
    for note in opened.notes:
        flash(note)  # 待核实 or an admission date staff confirm: said calmly
    allow_view(opened.reference)
    return redirect(url_for("apply.confirmation", reference=opened.reference), 303)


@bp.get("/confirmation/<reference>")
def confirmation(reference: str) -> Any:
    if not may_view(reference):
        flash("为了保护您的信息，请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    view = request_view(get_rules(), req)
    return render_template("applicant/confirmation.html", view=view,
                           submitted=submitted_view(get_rules().content, req.snapshot,
                                                    submitted_data(get_db(), reference)))


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
