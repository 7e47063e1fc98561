"""The texts sent to the applicant when something happens on their request. Pure functions.

Message bodies hold no personal data (no name, no ID or phone number): the reference number,
the service, the step, the new promised date and the hotline.
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
    "sample_received", "report_issued", "billing_accepted", "billing_declined", "completed",
    "missed", "lapsed", "documents_requested",
})


def event_message(*, product_name: str, service_name: str, reference: str, event_name: str,
                  event_id: str, details: Mapping[str, Any], promises: list[PromiseState],
                  hotline: str, hospital_name: str | None = None) -> str:
    """The text sent to the applicant for one recorded event (plain, calm Chinese)."""
    parts = [f"【{product_name}】您的{service_name}申请（编号 {format_reference(reference)}）"
             f"有新进展：{event_name}。"]
    if event_id == "appointment_booked":
        when = details.get("appointment_date", "")
        try:
            when = chinese_date(dt.date.fromisoformat(when), weekday=False)
        except (TypeError, ValueError):
            pass
        parts.append(f"预约医院：{hospital_name or details.get('hospital_id', '')}，"
                     f"时间：{when} {details.get('appointment_time', '')}。请按时就医。")
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
    return "".join(parts)
