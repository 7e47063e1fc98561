"""Undoing a wrongly recorded event and reopening an ended request, each with a reason that
the audit log keeps (POST /staff/requests/<ref>/events/<row>/undo, /reopen). The work is done
by `storage.casework.undo_event` / `reopen_request`."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from service_rules.identity import format_reference
from service_rules.workflow import STATUS_NAMES

from ..content import get_rules
from ..extensions import csrf
from ..storage import get_db
from ..storage.casework import (
    CannotReopen,
    CannotUndo,
    Changed,
    RequestClosed,
    event_name,
    reopen_request,
    undo_event,
)
from . import bp
from .casework_context import undo_prefix
from .casework_forms import ReopenForm, UndoForm, refused_status
from .views import _render_request, _request_or_404, _status_link, actor


def _back(reference: str) -> Any:
    return redirect(url_for("staff.request_page", reference=reference), 303)


def _moved(done: Changed) -> str:
    text = ""
    for promise_id, day in done.after.items():
        if day != done.before.get(promise_id):
            text += f"承诺日期已重新计算（{day or '尚未起算'}）。"
            break
    if done.status_after != done.status_before:
        text += f"申请状态：{STATUS_NAMES.get(done.status_after, done.status_after)}。"
    if done.messages_cancelled:
        text += "还没有发出的通知短信已取消。"
    if done.message_was_sent:
        text += "这条进展的短信已经发给申请人，请致电申请人说明。"
    return text


@bp.post("/requests/<reference>/events/<int:event_row>/undo")
@csrf.exempt  # checked by form.validate(): an expired page keeps the reason typed
def undo_event_view(reference: str, event_row: int) -> Any:
    req = _request_or_404(reference)
    form = UndoForm(prefix=undo_prefix(event_row))
    if not form.validate():
        if not any(e.id == event_row for e in req.events):
            return _back(req.reference)  # nothing of this request to show the form at
        return _render_request(req, status=refused_status(form, form.reason),
                               casework={"undo": (event_row, form)})
    try:
        done = undo_event(get_db(), get_rules(), req.reference, event_row,
                          form.reason.data.strip(), actor())
    except RequestClosed:
        flash("这个申请已经结束，不能撤销其中的进展；如需继续办理，请先重新打开申请。")
        return _back(req.reference)
    except CannotUndo:
        flash("这项进展已经撤销，或者不能撤销。")
        return _back(req.reference)
    except LookupError:
        flash("没有找到这项进展，请刷新页面后再试。")
        return _back(req.reference)
    name = event_name(get_rules(), req.service_snapshot, done.event_ids[0])
    flash(f"已撤销：{name}。" + _moved(done))
    return _back(req.reference)


@bp.post("/requests/<reference>/reopen")
@csrf.exempt  # checked by form.validate(), like the undo
def reopen_view(reference: str) -> Any:
    req = _request_or_404(reference)
    form = ReopenForm()
    if not form.validate():
        return _render_request(req, status=refused_status(form, form.reason),
                               casework={"reopen": form})
    try:
        done = reopen_request(get_db(), get_rules(), req.reference, form.reason.data.strip(),
                              actor(), status_link=_status_link(req.reference))
    except CannotReopen as exc:
        if exc.why == "used":
            form.reason.errors = [
                "同一被保险人本保单年度已有同一项服务的申请（"
                f"{format_reference(exc.other or '')}），"
                "这个申请不能重新打开；请在那个申请里继续办理。"]
            return _render_request(req, status=409, casework={"reopen": form})
        flash("这个申请没有结束，或者个人信息已经删除，不能重新打开。")
        return _back(req.reference)
    flash("已重新打开申请，已排队通知申请人。" + _moved(done))
    return _back(req.reference)
