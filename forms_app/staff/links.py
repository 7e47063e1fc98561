"""The applicant's status links on the request page: how many still work, and stopping them
all (a message forwarded to the wrong person, a phone lost). A POST, audited
(`status_links_revoked`); the legacy signed links of the request stop too."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for

from service_rules.identity import normalise_reference

from ..storage import get_db
from ..storage.status_links import active_link_count, revoke_request_links
from . import bp
from .forms import PlainForm
from .views import actor


@bp.app_template_global("status_link_state")
def status_link_state(reference: str) -> dict[str, Any]:
    """For the request page's include: active links and the form that stops them."""
    return {"active": active_link_count(get_db(), reference), "form": PlainForm(formdata=None)}


@bp.post("/requests/<reference>/links/revoke")
def revoke_links(reference: str) -> Any:
    form = PlainForm()
    reference = normalise_reference(reference)
    if not form.validate():
        flash("页面停留时间较长，请再点一次“停止全部进度链接”。")
        return redirect(url_for("staff.request_page", reference=reference), 303)
    done = revoke_request_links(get_db(), reference, actor())
    if done is None:
        abort(404)
    flash(f"已停止这个申请的全部进度链接（{done[0]}个仍有效的链接）。申请人之后的短信会带新链接，"
          "也可以用申请编号和身份证号码后四位查询。")
    return redirect(url_for("staff.request_page", reference=reference), 303)
