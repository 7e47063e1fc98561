"""Internal notes on the request page (POST /staff/requests/<ref>/notes): staff only, never on
an applicant's page, message or API answer. Stored by `storage.notes`."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from ..extensions import csrf
from ..storage import get_crypto, get_db
from ..storage.notes import NotesClosed, add_note
from . import bp
from .casework_forms import NoteForm, refused_status
from .views import _render_request, _request_or_404, actor


@bp.post("/requests/<reference>/notes")
@csrf.exempt  # checked by form.validate(): an expired page keeps the note typed
def add_note_view(reference: str) -> Any:
    req = _request_or_404(reference)
    form = NoteForm()
    if not form.validate():
        return _render_request(req, status=refused_status(form, form.text),
                               casework={"note": form})
    try:
        add_note(get_db(), get_crypto(), req.reference, actor(), form.text.data.strip())
    except NotesClosed:
        flash("这个申请的个人信息已经删除，不能再添加备注。")
        return redirect(url_for("staff.request_page", reference=req.reference), 303)
    flash("已添加内部备注。")
    return redirect(url_for("staff.request_page", reference=req.reference, _anchor="h-notes"),
                    303)
