"""Who works on a request: "assign to me", assign to an active colleague, or unassign, from
the request page (a POST with CSRF like every staff form), audited. The queue filters on it
("分配给我的", "未分配")."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, url_for
from wtforms import StringField
from wtforms.validators import Length

from service_rules.workflow import CLOSED_STATUSES

from ..storage import get_db
from ..storage.assignment import NotAssignable, active_usernames, assign
from ..storage.models import ServiceRequest
from ..web.forms import Form
from ..web.widgets import ListedSelectField
from . import bp
from .views import _render_request, _request_or_404, actor

ASSIGN_ME = "me"
ASSIGN_CHOSEN = "chosen"
UNASSIGN = "unassign"


class AssignmentForm(Form):
    assignee = ListedSelectField("分配给", choices=[], validate_choice=False)
    # which button was pressed: ASSIGN_ME, ASSIGN_CHOSEN or UNASSIGN
    action = StringField(validators=[Length(max=16)])


def _form(req: ServiceRequest, formdata: Any = None) -> AssignmentForm:
    form = (AssignmentForm(formdata=None, data={"assignee": req.assigned_to or ""})
            if formdata is None else AssignmentForm())
    form.assignee.choices = [("", "请选择")] + [(u, u) for u in active_usernames(get_db())]
    return form


@bp.context_processor
def _assignment_context() -> dict[str, Any]:
    def assignment_form(req: ServiceRequest) -> AssignmentForm:
        # a refused POST shows its own form with the message at the field
        return getattr(g, "assignment_form", None) or _form(req)
    return {"assignment_form": assignment_form, "assignment_closed": CLOSED_STATUSES}


@bp.post("/requests/<reference>/assignment")
def assignment(reference: str) -> Any:
    req = _request_or_404(reference)
    form = _form(req, formdata=True)
    if not form.validate():
        if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
            flash("页面停留时间较长，请再提交一次。")
        g.assignment_form = form
        return _render_request(req, status=400)
    action = form.action.data
    if action == ASSIGN_ME:
        assignee: str | None = actor()
    elif action == ASSIGN_CHOSEN:
        assignee = form.assignee.data or None
        if assignee is None or assignee not in dict(form.assignee.choices):
            form.assignee.errors = [*form.assignee.errors, "请从列表中选择一位在职的服务人员。"]
            g.assignment_form = form
            return _render_request(req, status=422)
    elif action == UNASSIGN:
        assignee = None
    else:
        form.assignee.errors = [*form.assignee.errors,
                                "请选择要做的操作：分配给我、分配给所选人员或取消分配。"]
        g.assignment_form = form
        return _render_request(req, status=400)
    try:
        assign(get_db(), req.reference, assignee, actor())
    except NotAssignable:
        if req.status in CLOSED_STATUSES:
            flash("这个申请已经结束，不需要再分配。")
            return redirect(url_for("staff.request_page", reference=req.reference), 303)
        form.assignee.errors = [*form.assignee.errors, "这位服务人员的账号已停用，请另选一位。"]
        g.assignment_form = form
        return _render_request(req, status=422)
    flash(f"已分配给 {assignee}。" if assignee else "已取消分配，这个申请现在没有负责人。")
    return redirect(url_for("staff.request_page", reference=req.reference), 303)
