"""The applicant's rights from the status page, behind the same check as the page itself
(`access.may_view`: this browser submitted or looked up the request, or opened its signed
link): withdraw the request or the consent after a plain statement of what follows, and
download a copy of what we hold (a readable summary, the JSON and the files, in one zip)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from wtforms import HiddenField

from service_rules.deadlines import SHANGHAI, shanghai_today
from service_rules.identity import format_reference
from service_rules.retention import (
    DELETED_NAMES,
    WITHDRAW_CONSENT,
    WITHDRAW_KINDS,
    WITHDRAW_REQUEST,
    WITHDRAWN_EVENT,
    WITHDRAWN_EVENT_NAME,
)
from service_rules.workflow import CONSENT_NAMES, OPEN_STATUSES, STATUS_NAMES

from ..content import get_rules
from ..extensions import limiter
from ..storage import get_crypto, get_db, upload_dir
from ..storage.datacopy import DataCopy, record_copy, request_copy
from ..storage.requests import load_summary
from ..storage.withdrawal import NotWithdrawable, privacy_state, withdraw
from ..web.forms import Form
from .access import allow_view, may_view

bp = Blueprint("privacy", __name__, url_prefix="/status", template_folder="templates")

PRIVACY_PAGE = "/privacy/"


class WithdrawForm(Form):
    kind = HiddenField()


def _status_limit() -> str:
    return current_app.config["STATUS_RATE_LIMIT"]


def privacy_context(reference: str) -> dict[str, Any]:
    """What the status page shows about the applicant's rights for this request."""
    state = privacy_state(get_db(), reference)
    retention = get_rules().content.privacy_file.retention
    return {"privacy": state, "grace_days": retention.withdrawn_grace_days,
            "privacy_page": PRIVACY_PAGE, "deleted_names": DELETED_NAMES,
            "beijing_date": lambda t: t.astimezone(SHANGHAI).date()}


def _allowed_or_redirect(reference: str) -> Any:
    if not may_view(reference):
        flash("为了保护您的信息，请输入申请编号和身份证号码后四位查看申请。")
        return redirect(url_for("status.lookup"), 303)
    return None


@bp.get("/<reference>/withdraw")
def withdraw_page(reference: str) -> Any:
    """The confirmation step: what each withdrawal means, in plain words, then one button."""
    refused = _allowed_or_redirect(reference)
    if refused is not None:
        return refused
    state = privacy_state(get_db(), reference)
    summary = load_summary(get_db(), reference)
    if state is None or summary is None:
        abort(404)
    return render_template(
        "applicant/withdraw.html", state=state, reference=reference,
        reference_display=format_reference(reference),
        service_name=summary.snapshot.service.name, is_open=state.status in OPEN_STATUSES,
        grace_days=get_rules().content.privacy_file.retention.withdrawn_grace_days,
        form=WithdrawForm(formdata=None), privacy_page=PRIVACY_PAGE,
        request_kind=WITHDRAW_REQUEST, consent_kind=WITHDRAW_CONSENT)


@bp.post("/<reference>/withdraw")
@limiter.limit(_status_limit, methods=["POST"])
def withdraw_confirmed(reference: str) -> Any:
    if not may_view(reference):
        abort(404)
    form = WithdrawForm()
    if not form.validate() or form.kind.data not in WITHDRAW_KINDS:
        flash("页面停留时间较长，请再确认一次。")
        return redirect(url_for("privacy.withdraw_page", reference=reference), 303)
    try:
        done = withdraw(get_db(), reference, form.kind.data, shanghai_today())
    except LookupError:
        abort(404)
    except NotWithdrawable:
        flash("这个申请已经结束或已经撤回，不需要再撤回。如有疑问请致电服务热线。")
        return redirect(url_for("status.request_status", reference=reference), 303)
    grace = get_rules().content.privacy_file.retention.withdrawn_grace_days
    what = "已撤回这次申请" if done.kind == WITHDRAW_REQUEST else "已撤回您的同意"
    flash(f"{what}。我们已停止办理并不再发送短信，个人信息和资料会在{grace}天后删除。"
          "之前发给您的进度链接已停止使用。")
    allow_view(reference)  # the links stop working; this browser keeps the page it is on
    return redirect(url_for("status.request_status", reference=reference), 303)


@bp.get("/<reference>/copy")
@limiter.limit(_status_limit)
def data_copy(reference: str) -> Any:
    """A zip: summary.txt (readable), data.json (everything stored), documents/ (the files)."""
    refused = _allowed_or_redirect(reference)
    if refused is not None:
        return refused
    copy = request_copy(get_db(), get_crypto(), upload_dir(), reference)
    if copy is None:
        abort(404)
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("summary.txt", summary_text(copy))
        zf.writestr("data.json", json.dumps(copy.data, ensure_ascii=False, indent=2))
        for f in copy.files:
            zf.writestr(f.name, f.data)
    record_copy(get_db(), reference, len(copy.files))
    name = f"{reference}-my-data-{shanghai_today().isoformat()}.zip"
    response = Response(body.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def summary_text(copy: DataCopy) -> str:
    """The readable part of the copy, in Chinese, from the same data as data.json."""
    content = get_rules().content
    r = copy.data["request"]
    service = content.service_by_id.get(r["service_id"])
    service_name = service.name if service else r["service_id"]
    city = content.city_by_id.get(r.get("city_id") or "")
    hospital = content.hospital_by_id.get(r.get("hospital_id") or "")

    def event_label(event_id: str) -> str:
        if event_id == WITHDRAWN_EVENT:
            return WITHDRAWN_EVENT_NAME
        found = content.event_by_id.get(event_id)
        return found.name if found else event_id

    def day(value: str | None) -> str:
        return value[:10] if value else "—"

    lines = [
        f"{content.product.name}：我们保存的关于申请 {format_reference(r['reference'])} 的信息",
        f"导出日期：{shanghai_today().isoformat()}",
        "",
        "【申请】",
        f"服务：{service_name}",
        f"状态：{STATUS_NAMES.get(r['status'], r['status'])}",
        f"提交时间：{r['created_at']}",
        f"城市：{city.name if city else '—'}",
        f"医院：{hospital.name if hospital else '—'}",
        "",
        "【被保险人和填写人】",
        f"被保险人姓名：{r['insured_name'] or '（已删除）'}",
        f"身份证号码：{r['id_number'] or '（已删除）'}",
        f"手机号码：{r['phone'] or '（已删除）'}",
        f"填写人与被保险人的关系：{r['applicant_relation'] or '—'}",
        f"填写人姓名：{r['applicant_name'] or '—'}",
        f"填写人手机号码：{r['applicant_phone'] or '—'}",
        f"保单号：{r['policy_number'] or '—'}",
        f"保单生效日期：{day(r['policy_effective'])}",
        f"确诊日期：{day(r['diagnosis_date'])}",
    ]
    for key, value in (r.get("details") or {}).items():
        lines.append(f"申请表中的其他回答（{key}）：{value}")
    lines += ["", "【同意】",
              f"同意方式：{CONSENT_NAMES.get(r.get('consent_method') or '', '—')}",
              f"同意时间：{r['consent_at']}",
              f"单独同意版本：{r.get('consent_version') or '—'}；"
              f"个人信息保护说明版本：{r.get('notice_version') or '—'}",
              f"同意的内容：{r['consent_text']}"]
    if r.get("withdrawn_at"):
        lines.append(f"撤回申请时间：{r['withdrawn_at']}")
    if r.get("consent_withdrawn_at"):
        lines.append(f"撤回同意时间：{r['consent_withdrawn_at']}")
    lines += ["", "【办理记录】"]
    for e in copy.data["events"]:
        who = "您" if e["recorded_by"] == "applicant" else "服务人员"
        extra = "；".join(f"{k}：{v}" for k, v in e["details"].items())
        lines.append(f"{e['event_date']} {event_label(e['event_id'])}（{who}记录）"
                     + (f"：{extra}" if extra else ""))
    lines += ["", "【上传的资料】（文件在 documents 文件夹里）"]
    names = {d.id: d.name for d in content.services_file.documents}
    for d in copy.data["documents"]:
        lines.append(f"{names.get(d['document_type'], d['document_type'])}：{d['file']}"
                     f"（{d['size']} 字节，SHA-256 {d['sha256']}）")
    if not copy.data["documents"]:
        lines.append("无")
    lines += ["", "【发给您的短信】"]
    for m in copy.data["messages"]:
        sent = f"{m['sent_at']} 已发送" if m["sent_at"] else "尚未发送"
        lines.append(f"{m['created_at']}（{sent}，发往 {m['recipient'] or '—'}）：{m['body']}")
    if not copy.data["messages"]:
        lines.append("无")
    lines += ["", f"【处理记录】共 {len(copy.data['activity'])} 条，明细见 data.json 的 activity。",
              "", "data.json 是同样内容的机器可读格式（UTF-8 编码的 JSON）。",
              f"信息有误请致电服务热线 {content.product.hotline.display} 更正；"
              f"保存期限和您的其他权利见网站的“个人信息保护说明”（{PRIVACY_PAGE}）。", ""]
    return "\n".join(lines)

