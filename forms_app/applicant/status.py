"""Status lookup: reference number + last 4 characters of the ID number (POSTed, never in the
URL). A wrong reference and a wrong pair get the same answer; tries are rate-limited."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import FileStorage

from service_rules.deadlines import shanghai_today
from service_rules.workflow import BY_APPLICANT

from ..content import get_rules
from ..extensions import csrf, limiter
from ..storage import get_crypto, get_db, upload_dir
from ..storage.documents import RequestClosedForDocuments, add_documents
from ..storage.requests import RequestSummary, check_status_pair, load_summary
from ..storage.status_links import (
    LINK_DAYS,
    UNKNOWN,
    VALID,
    LinkIssuer,
    check_token,
    revoke_request_links,
)
from ..storage.submitted import submitted_data
from ..web.forms import Form
from .access import allow_view, allow_view_by_link, may_view, open_legacy_link
from .forms import DocumentsForm, StatusForm, field_errors, validate_keeping_values
from .privacy import privacy_context
from .uploads import check_files, shown_name
from .viewmodels import request_view, submitted_view

bp = Blueprint("status", __name__, url_prefix="/status", template_folder="templates")

NEW_LINK_KEY = "new_status_link"


class PlainForm(Form):
    """Only its CSRF token (stop the old links)."""


_UNSET = object()
NOT_FOUND = ("没有找到与申请编号和身份证号码后四位都相符的申请。请核对后再试，"
             "或致电服务热线查询。")
EXPIRED = "页面停留时间较长，请再点一次“查询”。"
LINK_GONE = ("这个链接已经失效（可能已过期，或已停止使用）。请输入申请编号和身份证号码后四位"
             "查看申请，或致电服务热线。")
LINK_UNKNOWN = "这个链接不完整或不正确。请输入申请编号和身份证号码后四位查看申请。"


def _status_limit() -> str:
    return current_app.config["STATUS_RATE_LIMIT"]


@bp.get("/")
def lookup() -> str:
    return render_template("applicant/status_form.html", form=StatusForm(formdata=None),
                           errors=[], not_found=False)


@bp.post("/")
@csrf.exempt  # checked by validate_keeping_values: an expired token re-shows the form
@limiter.limit(_status_limit, methods=["POST"])
def result() -> Any:
    form = StatusForm()
    valid, csrf_expired = validate_keeping_values(form)
    if not valid or csrf_expired:
        errors = field_errors(form)
        return render_template("applicant/status_form.html", form=form, errors=errors,
                               notice=EXPIRED if csrf_expired else None, not_found=False), \
            400 if csrf_expired and not errors else 422
    req = check_status_pair(get_db(), get_crypto(), form.reference.data, form.last4.data)
    if req is None:
        return render_template("applicant/status_form.html", form=form, errors=[],
                               not_found=True, not_found_message=NOT_FOUND), 404
    allow_view(req.reference)
    # Post/Redirect/Get: the page can be refreshed and bookmarked, and reading it again does
    # not use up the lookup limit
    return redirect(url_for("status.request_status", reference=req.reference), 303)


def _failed(response: Any) -> bool:
    return response.status_code >= 400


@bp.get("/link/<token>")
@limiter.limit(_status_limit, deduct_when=_failed)  # only tries that open nothing count
def open_link(token: str) -> Any:
    """A status link from a message: the page itself, at an address that can be refreshed
    and bookmarked and that names no request. The browser may then use the page's forms for
    as long as the link works."""
    found = check_token(get_db(), get_crypto(), token)
    if found.state != VALID or found.reference is None or found.link_id is None:
        # expired or stopped: 410, the link was real once; anything else: 404
        gone = found.state != UNKNOWN
        return render_template("applicant/status_form.html", form=StatusForm(formdata=None),
                               errors=[], not_found=False,
                               notice=LINK_GONE if gone else LINK_UNKNOWN), 410 if gone else 404
    req = load_summary(get_db(), found.reference)
    if req is None:  # pragma: no cover - the link's row goes with its request
        abort(404)
    allow_view_by_link(req.reference, found.link_id)
    return _status_page(req)


@bp.post("/<reference>/links")
@limiter.limit(_status_limit, methods=["POST"])
def renew_links(reference: str) -> Any:
    """The applicant stops every link sent so far (a message forwarded, a phone lost) and
    gets one new link, shown once on the page."""
    if not may_view(reference):
        abort(404)
    form = PlainForm()
    if not form.validate():
        flash("页面停留时间较长，请再点一次“停止旧链接”。")
        return redirect(url_for("status.request_status", reference=reference), 303)
    issuer = LinkIssuer(get_crypto(),
                        lambda t: url_for("status.open_link", token=t, _external=True))
    done = revoke_request_links(get_db(), reference, BY_APPLICANT, issuer)
    if done is None:
        abort(404)
    allow_view(reference)  # this browser keeps the page it is on
    session[NEW_LINK_KEY] = done[1]
    return redirect(url_for("status.request_status", reference=reference), 303)


@bp.get("/<reference>")
def request_status(reference: str) -> Any:
    """The request's status for a browser that submitted or looked it up, or that opened the
    signed link of a message to the applicant (`?t=`)."""
    token = request.args.get("t")
    if token is not None:
        if open_legacy_link(token, reference):
            return redirect(url_for("status.request_status", reference=reference), 303)
        flash("这个链接已过期或不完整。请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    if not may_view(reference):
        flash("为了保护您的信息，请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    return _status_page(req)


def _documents_form(req: RequestSummary, formdata: Any = _UNSET) -> DocumentsForm:
    content = get_rules().content
    kwargs = {} if formdata is _UNSET else {"formdata": formdata}
    form = DocumentsForm(**kwargs)
    form.document_type.choices = [
        (d.id, content.document_by_id[d.id].name if d.id in content.document_by_id else d.id)
        for d in req.snapshot.service.documents]
    return form


def _status_page(req: RequestSummary, form: DocumentsForm | None = None,
                 status: int = 200) -> Any:
    view = request_view(get_rules(), req)
    if form is None and view.asked_for:
        form = _documents_form(req, formdata=None)
    return render_template("applicant/status.html", view=view, documents_form=form,
                           errors=field_errors(form) if form is not None else [],
                           submitted=submitted_view(get_rules().content, req.snapshot,
                                                    submitted_data(get_db(), req.reference)),
                           links_form=PlainForm(formdata=None),
                           new_link=session.pop(NEW_LINK_KEY, None), link_days=LINK_DAYS,
                           today=shanghai_today(),
                           **privacy_context(req.reference)), status


@bp.post("/<reference>/documents")
@limiter.limit(_status_limit, methods=["POST"])
def send_documents(reference: str) -> Any:
    """Documents staff asked for, sent from the status page: the same type, size and content
    checks as the form's, encrypted at rest; staff see them with their time."""
    if not may_view(reference):
        abort(404)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    form = _documents_form(req)
    valid, expired = validate_keeping_values(form)
    items = [f for f in (form.files.data or []) if isinstance(f, FileStorage) and f.filename]
    if expired:
        form.files.errors = [*form.files.errors, "页面停留时间较长，请重新选择文件后再发送。"]
    elif not items:
        form.files.errors = [*form.files.errors, "请选择要上传的文件。"]
    elif len(items) > current_app.config["UPLOAD_MAX_FILES_PER_TYPE"]:
        form.files.errors = [*form.files.errors, "一次最多上传"
                             f"{current_app.config['UPLOAD_MAX_FILES_PER_TYPE']}个文件。"]
    checked = check_files(form.files, items) if valid and not form.files.errors else []
    if not valid or form.files.errors:
        return _status_page(req, form, 400 if expired else 422)
    try:
        count = add_documents(get_db(), get_crypto(), upload_dir(), reference,
                              [(form.document_type.data, *c) for c in checked],
                              shanghai_today(),
                              names=[shown_name(i.filename or "") for i in items],
                              calendar=get_rules().calendar)
    except RequestClosedForDocuments:
        flash("这个申请已经结束，不再需要补充资料。如有疑问请致电服务热线。")
        return redirect(url_for("status.request_status", reference=reference), 303)
    flash(f"已收到您补充的{count}个文件，服务人员会尽快查看。")
    return redirect(url_for("status.request_status", reference=reference), 303)
