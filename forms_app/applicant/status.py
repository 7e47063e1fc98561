"""Status lookup: reference number + last 4 characters of the ID number (POSTed, never in the
URL). A wrong reference and a wrong pair get the same answer; tries are rate-limited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from ..content import get_rules
from ..extensions import csrf, limiter
from ..storage import get_crypto, get_db
from ..storage.requests import check_status_pair
from .access import allow_view
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
    view = request_view(get_rules(), req)
    return render_template("applicant/status.html", view=view)
