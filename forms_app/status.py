"""Status lookup: reference number + last 4 characters of the ID number (POSTed, never in the
URL). A wrong reference and a wrong pair get the same answer; tries are rate-limited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from .apply import allow_view
from .extensions import csrf, get_crypto, get_db, get_rules, limiter
from .forms import required, strip
from .identity import REFERENCE_ALPHABET, REFERENCE_LENGTH, normalise_reference
from .present import request_view
from .store import check_status_pair

bp = Blueprint("status", __name__, url_prefix="/status")

NOT_FOUND = ("没有找到与申请编号和身份证号码后四位都相符的申请。请核对后再试，"
             "或致电服务热线查询。")


def _validate_reference(form: Any, field: Any) -> None:
    value = normalise_reference(field.data or "")
    if not value:
        return
    if len(value) != REFERENCE_LENGTH or any(c not in REFERENCE_ALPHABET for c in value):
        raise ValidationError("申请编号是8位字母和数字，例如 ABCD-2345"
                              "（不含字母I、O、Q、Z和数字0、1）。")
    field.data = value


def _validate_last4(form: Any, field: Any) -> None:
    value = (field.data or "").replace(" ", "").upper()
    if value and (len(value) != 4 or not (value[:3].isdigit() and (value[3].isdigit()
                                                                    or value[3] == "X"))):
        raise ValidationError("请填写身份证号码的最后4位，例如 002X。")
    field.data = value


class StatusForm(FlaskForm):
    reference = StringField(
        "申请编号", filters=[strip],
        validators=[required("请填写申请编号。"), _validate_reference],
        description="在提交申请后的确认页上，例如 ABCD-2345。",
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": 20,
                   "autocapitalize": "characters"})
    last4 = StringField(
        "被保险人身份证号码后四位", filters=[strip],
        validators=[required("请填写身份证号码后四位。"), _validate_last4],
        render_kw={"autocomplete": "off", "maxlength": 8, "inputmode": "text"})


@bp.after_request
def _no_store(response: Response) -> Response:
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response


def _status_limit() -> str:
    return current_app.config["STATUS_RATE_LIMIT"]


@bp.get("/")
def lookup() -> str:
    return render_template("status_form.html", form=StatusForm(formdata=None), errors=[],
                           not_found=False)


@bp.post("/")
@csrf.exempt  # checked by form.validate(): an expired token re-shows the form, values kept
@limiter.limit(_status_limit, methods=["POST"])
def result() -> Any:
    form = StatusForm()
    if not form.validate():
        csrf_failed = bool(getattr(form, "csrf_token", None) and form.csrf_token.errors)
        if csrf_failed:
            form.csrf_token.errors = []
        errors = [(name, err) for name, field in form._fields.items() for err in field.errors
                  if name != "csrf_token"]
        notice = "页面停留时间较长，请再点一次“查询”。" if csrf_failed else None
        return render_template("status_form.html", form=form, errors=errors, notice=notice,
                               not_found=False), 400 if csrf_failed and not errors else 422
    req = check_status_pair(get_db(), get_crypto(), form.reference.data, form.last4.data)
    if req is None:
        return render_template("status_form.html", form=form, errors=[], not_found=True,
                               not_found_message=NOT_FOUND), 404
    allow_view(req.reference)
    view = request_view(get_rules(), req)
    return render_template("status.html", view=view)

