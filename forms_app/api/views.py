"""JSON API: the services, promised dates for given event dates, and its OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import BadRequest

from service_rules.promises import compute_promises, snapshot_service
from service_rules.wording import promise_sentence
from service_rules.workcalendar import CalendarRangeError

from ..content import get_rules
from ..extensions import csrf
from .openapi import MAX_EVENTS, openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # JSON only, no cookies used: nothing for a forged form to abuse


def _problem(status: int, message: str, field: str | None = None) -> tuple[Any, int]:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return jsonify(body), status


@bp.get("/services")
def services() -> Any:
    content = get_rules().content
    out = []
    for s in content.services:
        out.append({
            "id": s.id, "name": s.name, "summary": s.summary,
            # times: a number per policy year, or null with "unlimited": true
            "uses": [{"id": u.id, "name": u.name, "times": u.times if u.limited else None,
                      "unlimited": not u.limited} for u in s.uses],
            "promises": [{"id": p.id, "use": p.use, "working_days": p.working_days,
                          "starts_after": list(p.starts_after), "promise": p.promise,
                          "sentence": promise_sentence(content, p)} for p in s.promises],
            "advance_booking_working_days": s.advance_booking.working_days
            if s.advance_booking else None,
            "documents": [{"id": d.id, "name": content.document_by_id[d.id].name,
                           "required": d.required} for d in s.documents],
            "samples": [{"id": x.id, "name": x.name} for x in s.samples],
            "apply_url": f"/apply/{s.id}",
        })
    return jsonify({"content_version": content.version, "services": out,
                    "hotline": content.product.hotline.model_dump()})


@bp.post("/promises")
def promises() -> Any:
    rules = get_rules()
    content = rules.content
    try:
        body = request.get_json(force=True, silent=False)
    except (BadRequest, RecursionError):  # RecursionError: JSON nested thousands deep
        return _problem(400, "请求体不是有效的 JSON。")
    if not isinstance(body, dict):
        return _problem(400, "请求体应为 JSON 对象。")
    service_id = body.get("service_id")
    if not isinstance(service_id, str) or service_id not in content.service_by_id:
        return _problem(422, "service_id 不是已知的服务编号：" + "、".join(content.service_by_id),
                        "service_id")
    service = content.service(service_id)
    use_id = body.get("use_id")
    if use_id is None and len(service.uses) == 1:
        use_id = service.uses[0].id  # the one use need not be named
    if not isinstance(use_id, str) or use_id not in {u.id for u in service.uses}:
        return _problem(422, "use_id 应为以下之一：" + "、".join(u.id for u in service.uses),
                        "use_id")
    raw_events = body.get("events", {})
    if not isinstance(raw_events, dict) or len(raw_events) > MAX_EVENTS:
        return _problem(422, "events 应为对象，例如 {\"request\": \"2026-11-24\"}。", "events")
    events: dict[str, dt.date] = {}
    for event_id, value in raw_events.items():
        if event_id not in content.event_by_id:
            return _problem(422, f"未知的事件编号：{str(event_id)[:40]}", f"events.{event_id}"[:60])
        try:
            events[event_id] = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            events[event_id] = None  # type: ignore[assignment]
        if events[event_id] is None:
            return _problem(422, f"事件 {event_id} 的日期应写成 YYYY-MM-DD。", f"events.{event_id}")
    snapshot = snapshot_service(content, service_id)
    states = compute_promises(rules.calendar, snapshot, use_id, events)
    errors = [s.error for s in states if s.error]
    if errors:
        return _problem(422, errors[0], "events")
    return jsonify({"service_id": service_id, "use_id": use_id,
                    "content_version": content.version,
                    "promises": [s.as_dict() for s in states]})


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(get_rules()))


@bp.errorhandler(CalendarRangeError)
def _calendar_range(exc: CalendarRangeError) -> Any:
    return _problem(422, str(exc), "events")
