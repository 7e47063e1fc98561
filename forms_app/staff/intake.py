"""Hotline intake: staff open a request for a caller, with the same service form and the same
checks as online (eligibility, once per use, the register, promised dates), the consent read out
on the phone and recorded as such (who, when, which version of the text). The caller then has
the same reference, messages and status page as an online applicant."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from service_rules.deadlines import shanghai_today
from service_rules.identity import format_reference
from service_rules.models import Service
from service_rules.workflow import CHANNEL_HOTLINE, CONSENT_PHONE

from ..applicant.forms import RequestForm, field_errors, field_groups
from ..applicant.opening import (
    blank_form,
    check_service_fields,
    consent_version,
    open_request,
    posted_form,
    service_or_404,
)
from ..applicant.uploads import check_uploads
from ..content import get_rules
from . import bp
from .views import actor

CONSENT_READ_OUT = "已向来电人完整宣读上面的说明，来电人口头同意处理上述敏感个人信息"


def _render(form: RequestForm, service: Service, status: int = 200,
            refusal: Any = None) -> Any:
    content = get_rules().content
    return render_template(
        "staff/intake.html", form=form, service=service, content=content,
        groups=field_groups(form), errors=field_errors(form), refusal=refusal,
        consent_label=CONSENT_READ_OUT,
        consent_version=consent_version(content.product.sensitive_consent)), status


@bp.get("/intake/")
def intake_index() -> Any:
    return render_template("staff/intake_index.html",
                           services=get_rules().content.services)


@bp.get("/intake/<service_id>")
def intake_form(service_id: str) -> Any:
    service = service_or_404(service_id)
    form = blank_form(service_id, shanghai_today())
    return _render(form, service)


@bp.post("/intake/<service_id>")
def intake_submit(service_id: str) -> Any:
    service = service_or_404(service_id)
    today = shanghai_today()
    form = posted_form(service_id, today)
    valid = form.validate()
    # documents are collected after the call (the flow's next steps): none is required here
    files = check_uploads(form, require_documents=False)
    check_service_fields(form, service, today)
    if not valid or any(field.errors for field in form._fields.values()):
        return _render(form, service, 422)
    opened = open_request(form, service, files, today=today, channel=CHANNEL_HOTLINE,
                          recorded_by=actor(), consent_method=CONSENT_PHONE)
    if opened.refusal is not None:
        return _render(form, service, 422, refusal=opened.refusal)
    assert opened.reference is not None
    shown = format_reference(opened.reference)
    if opened.created:
        flash(f"已为来电人登记申请，申请编号 {shown}。请把编号念给来电人，"
              "并告诉对方可以凭编号和身份证号码后四位在网上查询进度。")
    else:
        flash(f"这份登记已经提交过（申请编号 {shown}），没有重复登记。")
    for note in opened.notes:
        flash(note)
    return redirect(url_for("staff.request_page", reference=opened.reference), 303)
