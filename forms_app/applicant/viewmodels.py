"""What the confirmation and status pages show about a request (masked personal data only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service_rules import Rules
from service_rules.identity import format_reference
from service_rules.models import ACTOR_NAMES
from service_rules.promises import PromiseState, compute_promises, flow_progress
from service_rules.wording import COUNTING_RULE
from service_rules.workflow import STATUS_NAMES

from ..storage.requests import RequestSummary
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

    @property
    def has_dates(self) -> bool:
        return any(p.deadline is not None for p in self.promises)

    def calendar_items(self) -> list[CalendarItem]:
        items = []
        for p in self.promises:
            if p.deadline is None:
                continue
            mark = "（暂定）" if p.deadline.provisional else ""
            items.append(CalendarItem(
                uid=f"{self.reference}-{p.promise_id}@forms_app",
                day=p.deadline.date,
                summary=f"{self.service_name}：最晚此日{p.promise}{mark}",
                description=" ".join(p.deadline.notes())
                + f" 申请编号 {self.reference_display}。服务热线 {self.hotline_display}。"))
        return items


def request_view(rules: Rules, req: RequestSummary) -> RequestView:
    snapshot = req.snapshot
    service = snapshot.service
    events = req.event_dates()
    promises = compute_promises(rules.calendar, snapshot, req.use_id, events)
    flow, current = flow_progress(snapshot, events)
    for step in flow:
        step["actor_name"] = ACTOR_NAMES.get(step["actor"], step["actor"])
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
        hotline_display=hotline["display"], hotline_tel=hotline["tel"], masked=masked)
