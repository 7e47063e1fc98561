"""What the confirmation and status pages show about a request (masked personal data only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service_rules import Rules
from service_rules.deadlines import shanghai_date, shanghai_today
from service_rules.identity import format_reference
from service_rules.models import ACTOR_NAMES, Content
from service_rules.promises import PromiseState, Snapshot, flow_progress
from service_rules.wording import COUNTING_RULE, chinese_date
from service_rules.workflow import (
    CLOSED_STATUSES,
    CLOSING_EVENTS,
    KEPT,
    LATE,
    STATUS_COMPLETED,
    STATUS_NAMES,
    VOID,
    PromiseOutcome,
    promise_outcomes,
)

from ..storage.requests import RequestSummary
from ..storage.submitted import Submitted
from .forms import OTHER_CITY, SAMPLE_UNSURE
from .ics import CalendarItem


@dataclass(frozen=True)
class RequestView:
    reference: str
    reference_display: str
    service_id: str
    service_name: str
    use_name: str
    status: str
    status_name: str
    created_date: dt.date
    promises: list[PromiseState]
    flow: list[dict[str, Any]]
    current_step: int
    hotline_display: str
    hotline_tel: str
    masked: dict[str, str]
    counting_rule: str = COUNTING_RULE
    # promise_id -> what became of it, for promises no longer pending (kept, or void because
    # the request ended): shown instead of a date still to come
    settled: dict[str, str] = field(default_factory=dict)
    # what staff arranged, in the order it happened ("就医预约：北京协和医院，……")
    arranged: list[str] = field(default_factory=list)
    # the request has ended: why, in the words the applicant reads
    ended: str | None = None
    # what staff asked the applicant to send, until they send something
    asked_for: str | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def has_dates(self) -> bool:
        return any(p.deadline is not None and p.promise_id not in self.settled
                   for p in self.promises)

    def calendar_items(self) -> list[CalendarItem]:
        """Only promises still to be kept: a kept or void promise is no date to remember."""
        items = []
        for p in self.promises:
            if p.deadline is None or p.promise_id in self.settled:
                continue
            mark = "（暂定）" if p.deadline.provisional else ""
            items.append(CalendarItem(
                uid=f"{self.reference}-{p.promise_id}@forms_app",
                day=p.deadline.date,
                summary=f"{self.service_name}：最晚此日{p.promise}{mark}",
                description=" ".join(p.deadline.notes())
                + f" 申请编号 {self.reference_display}。服务热线 {self.hotline_display}。"))
        return items


def settled_promises(outcomes: Sequence[PromiseOutcome]) -> dict[str, str]:
    """What the applicant reads for each promise no longer pending."""
    settled: dict[str, str] = {}
    for o in outcomes:
        if o.outcome in (KEPT, LATE) and o.fulfilled_on is not None:
            settled[o.state.promise_id] = f"已于{chinese_date(o.fulfilled_on)}完成。"
        elif o.outcome == VOID:
            settled[o.state.promise_id] = "申请已结束，这项承诺不再适用。"
    return settled


def arranged_items(content: Content, snapshot: Snapshot,
                   events: Sequence[tuple[str, dt.date]],
                   details: Sequence[Mapping[str, Any]]) -> list[str]:
    """What staff arranged or received that the family needs to know: the hospital, time,
    department, address and what to bring of an appointment; where to send a sample; the
    sample the lab received; a direct billing confirmed and what to sign and hand over."""
    samples = {s.id: s.name for s in snapshot.service.samples}
    items: list[str] = []
    for (event_id, day), info in zip(events, details or [{}] * len(events), strict=False):
        if event_id == "appointment_booked":
            items.append(appointment_line(content, info))
        elif event_id == "sample_guided":
            line = f"样本寄送：请寄到{info.get('sample_address', '')}"
            if info.get("sample_recipient"):
                line += f"，收件人：{info['sample_recipient']}"
            line += "。"
            if info.get("sample_include"):
                line += f"随样本附上：{_sentence(info['sample_include'])}"
            items.append(line + "寄出后，实验室收到样本即开始计算出报告的时间。")
        elif event_id == "sample_received":
            sample = samples.get(info.get("sample_type", ""), "")
            what = f"（{sample}）" if sample else ""
            items.append(f"{chinese_date(day)}实验室已收到样本{what}。")
        elif event_id == "billing_accepted":
            line = f"{chinese_date(day)}已确认为您启动住院直付服务。"
            if info.get("sign_and_hand_over"):
                line += f"需要签署和交付的材料：{_sentence(info['sign_and_hand_over'])}"
            items.append(line)
        elif event_id == "records_complete":
            items.append(f"{chinese_date(day)}病历资料已收集完整。")
        elif event_id == "admission_slip_issued":
            items.append(f"住院条开具日期：{chinese_date(day)}。")
    return items


def appointment_line(content: Content, info: Mapping[str, Any]) -> str:
    """An appointment as the applicant reads it; the address falls back to the one the
    hospital list gives (content/hospitals.yaml `address`), if any."""
    hospital = content.hospital_by_id.get(info.get("hospital_id", ""))
    when = info.get("appointment_date", "")
    try:
        when = chinese_date(dt.date.fromisoformat(when))
    except (TypeError, ValueError):
        pass
    name = hospital.name if hospital else info.get("hospital_id", "")
    if info.get("department"):
        name += f" {info['department']}"
    line = f"就医预约：{name}，{when} {info.get('appointment_time', '')}".rstrip() + "。"
    address = info.get("address") or (hospital.address if hospital else None)
    if address:
        line += f"地址：{_sentence(address)}"
    bring = info.get("bring")
    return line + (f"请带齐：{_sentence(bring)}请按时就医。" if bring
                   else "请按时就医，带好身份证和病历资料。")


def _sentence(text: str) -> str:
    """Staff's words as one sentence of a line: spaces and line breaks folded, one 。 at the
    end."""
    return " ".join(str(text).split()).rstrip("。.；;，, ") + "。"


def documents_asked(events: Sequence[tuple[str, dt.date]],
                    details: Sequence[Mapping[str, Any]]) -> str | None:
    """The message of the last request for documents, unless documents came in after it."""
    asked: str | None = None
    for (event_id, _day), info in zip(events, details, strict=False):
        if event_id == "documents_requested":
            asked = str(info.get("message") or "请补充病历资料。")
        elif event_id == "documents_received":
            asked = None
    return asked


ENDINGS = {
    "billing_declined": "经审核，本次住院不符合直付服务范围。",
    "lapsed": "本次服务已终止。",
    "missed": "未在预约时间就医或未签署授权书，按服务规则本次服务视为已完成。",
    "completed": "服务已完成。",
    "withdrawn": "您已撤回这次申请，我们已停止办理。",
}


def ending(status: str, events: Sequence[tuple[str, dt.date]],
           details: Sequence[Mapping[str, Any]], final_event: str | None) -> str | None:
    """Why a closed request ended, with the reason staff recorded (if any)."""
    if status not in CLOSED_STATUSES:
        return None
    for (event_id, day), info in reversed(list(zip(events, details, strict=False))):
        if event_id in CLOSING_EVENTS or event_id == final_event:
            text = ENDINGS.get(event_id, "服务已完成。")
            reason = info.get("reason")
            return (f"{chinese_date(day)}：{text}" + (f"原因：{reason}。" if reason else "")
                    + ("如有疑问请致电服务热线。" if status != STATUS_COMPLETED else ""))
    return STATUS_NAMES.get(status, status) + "。"


def request_view(rules: Rules, req: RequestSummary, today: dt.date | None = None
                 ) -> RequestView:
    today = today or shanghai_today()
    snapshot = req.snapshot
    service = snapshot.service
    events = req.event_dates()
    final_event = service.flow[-1].event
    closed_days = [day for eid, day in req.events
                   if eid in CLOSING_EVENTS or eid == final_event]
    outcomes = promise_outcomes(rules.calendar, snapshot, req.use_id, events, today,
                                max(closed_days) if req.status in CLOSED_STATUSES
                                and closed_days else None)
    promises = [o.state for o in outcomes]
    flow, current = flow_progress(snapshot, events)
    for step in flow:
        step["actor_name"] = ACTOR_NAMES.get(step["actor"], step["actor"])
    channel = next((d.get("source") for (eid, _day), d in zip(req.events, req.event_details,
                                                              strict=False)
                    if eid == "request"), None)
    if flow and channel == "online_form":
        # the brochure's first step is the hotline call; this request came in online
        flow[0] = {**flow[0], "title": "在线提交申请", "actor_name": ACTOR_NAMES.get("insured"),
                   "detail": "通过网上申请表提交了申请。"}
    hotline = snapshot.get("product", {}).get("hotline") or \
        rules.content.product.hotline.model_dump()
    masked = {"insured_name": req.insured_name, "id_number": req.id_number_masked,
              "phone": req.phone_masked}
    return RequestView(
        reference=req.reference, reference_display=format_reference(req.reference),
        service_id=req.service_id, service_name=service.name,
        use_name=service.use(req.use_id).name if len(service.uses) > 1 else "",
        status=req.status, status_name=STATUS_NAMES.get(req.status, req.status),
        created_date=req.request_date, promises=promises, flow=flow, current_step=current,
        hotline_display=hotline["display"], hotline_tel=hotline["tel"], masked=masked,
        settled=settled_promises(outcomes),
        arranged=arranged_items(rules.content, snapshot, req.events, req.event_details),
        ended=ending(req.status, req.events, req.event_details, final_event),
        asked_for=None if req.status in CLOSED_STATUSES
        else documents_asked(req.events, req.event_details))


@dataclass(frozen=True)
class SubmittedView:
    """What the applicant submitted, shown back on their own pages: (label, value) rows and
    the files as (document name, the file's own name or None, received on)."""

    rows: list[tuple[str, str]]
    files: list[tuple[str, str | None, dt.date]]


def submitted_view(content: Content, snapshot: Snapshot, data: Submitted | None
                   ) -> SubmittedView | None:
    """The city or hospital, the dates given, the sample type and the files' names; None for
    a request whose data was deleted (nothing of it is shown)."""
    if data is None:
        return None
    rows: list[tuple[str, str]] = []
    if data.city_id:
        city = content.city_by_id.get(data.city_id)
        rows.append(("就诊城市", city.name if city else
                     ("其他城市" if data.city_id == OTHER_CITY else data.city_id)))
    if data.hospital_id:
        hospital = content.hospital_by_id.get(data.hospital_id)
        rows.append(("医院", hospital.name if hospital else data.hospital_id))
    events = snapshot.data.get("events", {})
    for key, value in data.details.items():
        if key.endswith("_date") and key != "admission_date":
            event = events.get(key.removesuffix("_date"), {})
            rows.append((f"{event.get('name', key)}日期", _date_text(value)))
    if data.details.get("admission_date"):
        rows.append(("入院日期", _date_text(data.details["admission_date"])))
    sample = data.details.get("sample_type")
    if sample:
        names = {s.id: s.name for s in snapshot.service.samples}
        rows.append(("可以提供的检测样本", names.get(sample, "还不确定，请服务人员指导"
                                             if sample == SAMPLE_UNSURE else sample)))
    doc_names = content.document_by_id
    files = [(doc_names[f.document_type].name if f.document_type in doc_names
              else f.document_type, f.display_name, shanghai_date(f.created_at))
             for f in data.files]
    return SubmittedView(rows, files)


def _date_text(value: Any) -> str:
    try:
        return chinese_date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)
