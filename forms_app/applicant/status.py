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
    url_for,
)

from ..content import get_rules
from ..extensions import csrf, limiter
from ..storage import get_crypto, get_db
from ..storage.requests import check_status_pair, load_summary
from .access import allow_view, link_reference, may_view
from .forms import StatusForm, field_errors, validate_keeping_values
from .viewmodels import request_view

bp = Blueprint("status", __name__, url_prefix="/status", template_folder="templates")

NOT_FOUND = ("没有找到与申请编号和身份证号码后四位都相符的申请。请核对后再试，"
             "或致电服务热线查询。")
EXPIRED = "页面停留时间较长，请再点一次“查询”。"


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


@bp.get("/<reference>")
def request_status(reference: str) -> Any:
    """The request's status for a browser that submitted or looked it up, or that opened the
    signed link of a message to the applicant (`?t=`)."""
    token = request.args.get("t")
    if token is not None:
        if link_reference(token) == reference:
            allow_view(reference)
            return redirect(url_for("status.request_status", reference=reference), 303)
        flash("这个链接已过期或不完整。请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    if not may_view(reference):
        flash("为了保护您的信息，请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    req = load_summary(get_db(), reference)
    if req is None:
        abort(404)
    return render_template("applicant/status.html", view=request_view(get_rules(), req))
