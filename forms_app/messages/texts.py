"""The texts sent to the applicant when something happens on their request. Pure functions.

Message bodies hold no personal data (no name, no ID or phone number): the reference number,
the service, the step and what was arranged, the new promised date, the hotline and the status
link (a random token only, see `links.py`). The link comes last, with nothing after it, so no phone
takes a following character for part of the address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from service_rules.identity import format_reference
from service_rules.promises import PromiseState
from service_rules.wording import chinese_date

# events the applicant is told about (an admission the insured made themselves is not news
# to them)
NOTIFY_EVENTS = frozenset({
    "identity_confirmed", "records_complete", "admission_slip_issued", "appointment_booked",
    "sample_guided", "sample_received", "report_issued", "billing_accepted", "billing_declined",
    "completed", "missed", "lapsed", "documents_requested",
})


def submission_message(*, product_name: str, service_name: str, reference: str,
                       promises: list[Mapping[str, Any]], hotline: str,
                       status_link: str | None = None) -> str:
    """The text sent when a request is received: its reference, what is promised by when
    (`promises` as stored in `initial_promises`, only those still due) and the status link."""
    parts = [f"【{product_name}】我们已收到您的{service_name}申请，"
             f"编号 {format_reference(reference)}。"]
    for p in promises:
        if p.get("date"):
            mark = "（暂定）" if p.get("provisional") else ""
            due = chinese_date(dt.date.fromisoformat(p["date"]), weekday=False)
            parts.append(f"我们将最晚于{due}{mark}{p['promise']}。")
        elif p.get("sentence"):
            # the clock has not started yet (e.g. records still to collect): the rule itself
            parts.append(f"{str(p['sentence']).rstrip('。')}，日期确定后我们会告诉您。")
    parts.append(f"如有疑问请致电服务热线 {hotline}。")
    return _with_link("".join(parts), status_link)


def reopened_message(*, product_name: str, service_name: str, reference: str,
                     promises: list[PromiseState], hotline: str,
                     status_link: str | None = None) -> str:
    """The text sent when staff reopen an ended request: it is being handled again, and what
    is promised by when from now on (only promises still to keep)."""
    parts = [f"【{product_name}】您的{service_name}申请（编号 {format_reference(reference)}）"
             "已重新开始办理。"]
    for p in promises:
        if p.deadline is not None:
            mark = "（暂定）" if p.deadline.provisional else ""
            due = chinese_date(p.deadline.date, weekday=False)
            parts.append(f"我们将最晚于{due}{mark}{p.promise}。")
    parts.append(f"如有疑问请致电服务热线 {hotline}。")
    return _with_link("".join(parts), status_link)


def _one_line(text: str) -> str:
    """Staff's words inside a message: one line, without a closing full stop of its own."""
    return " ".join(str(text).split()).rstrip("。.；;，, ")


def _with_link(text: str, status_link: str | None) -> str:
    return f"{text}查看办理进度：{status_link}" if status_link else text


def event_message(*, product_name: str, service_name: str, reference: str, event_name: str,
                  event_id: str, details: Mapping[str, Any], promises: list[PromiseState],
                  hotline: str, hospital_name: str | None = None,
                  status_link: str | None = None) -> str:
    """The text sent to the applicant for one recorded event (plain, calm Chinese)."""
    parts = [f"【{product_name}】您的{service_name}申请（编号 {format_reference(reference)}）"
             f"有新进展：{event_name}。"]
    if event_id == "appointment_booked":
        when = details.get("appointment_date", "")
        try:
            when = chinese_date(dt.date.fromisoformat(when), weekday=False)
        except (TypeError, ValueError):
            pass
        where = hospital_name or details.get("hospital_id", "")
        if details.get("department"):
            where += f" {details['department']}"
        parts.append(f"预约医院：{where}，时间：{when} {details.get('appointment_time', '')}。")
        if details.get("address"):
            parts.append(f"地址：{_one_line(details['address'])}。")
        if details.get("bring"):
            parts.append(f"请带齐：{_one_line(details['bring'])}。")
        parts.append("请按时就医。")
    if event_id == "sample_guided":
        parts.append(f"样本请寄到：{_one_line(details.get('sample_address', ''))}")
        if details.get("sample_recipient"):
            parts.append(f"，收件人：{_one_line(details['sample_recipient'])}")
        parts.append("。")
        if details.get("sample_include"):
            parts.append(f"随样本附上：{_one_line(details['sample_include'])}。")
    if event_id == "billing_accepted" and details.get("sign_and_hand_over"):
        parts.append(f"需要签署和交付的材料：{_one_line(details['sign_and_hand_over'])}。")
    if event_id == "missed":
        parts.append("按服务规则，本次服务视为已完成。")
    if event_id == "documents_requested":
        asked = str(details.get("message") or "请补充病历资料").rstrip("。")
        parts.append(f"{asked}。请打开申请进度页面上传，或按服务人员的指引发送。")
    if event_id in ("billing_declined", "lapsed") and details.get("reason"):
        parts.append(f"原因：{details['reason']}。")
    for p in promises:
        if p.deadline is not None and event_id not in ("completed", "missed", "lapsed",
                                                          "billing_declined", "report_issued"):
            mark = "（暂定）" if p.deadline.provisional else ""
            due = chinese_date(p.deadline.date, weekday=False)
            parts.append(f"我们将最晚于{due}{mark}{p.promise}。")
    parts.append(f"如有疑问请致电服务热线 {hotline}。")
    return _with_link("".join(parts), status_link)
