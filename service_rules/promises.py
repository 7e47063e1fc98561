"""Events -> promised dates, from a request's service snapshot. Pure functions (no Flask, no I/O).

A request keeps the rules it was made under: `snapshot_service` dumps the service (and the
names of the events it uses) when the request is made, and `compute_promises` reads the
promises from that snapshot, so a later content change applies to new requests only. The
working-day calendar is always the current one: when the State Council publishes a year's
arrangement, a provisional date becomes official (and may move), as the confirmation said.

Used by the request app (confirmation, status, API) and the staff console (queue, request page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from service_rules.deadlines import Deadline, promise_due
from service_rules.models import Content, Event, Service
from service_rules.wording import promise_sentence
from service_rules.workcalendar import CalendarRangeError, WorkCalendar


def snapshot_service(content: Content, service_id: str) -> dict[str, Any]:
    """What a request stores so its promises never change with later content edits."""
    service = content.service(service_id)
    used = {e for p in service.promises for e in p.starts_after}
    used |= {step.event for step in service.flow if step.event}
    return {
        "service": service.model_dump(mode="json", by_alias=True),
        "events": {eid: content.event_by_id[eid].model_dump(mode="json")
                   for eid in sorted(used) if eid in content.event_by_id},
        "product": {"name": content.product.name,
                    "hotline": content.product.hotline.model_dump(mode="json")},
    }


def snapshot_model(snapshot: Mapping[str, Any] | Snapshot) -> Service:
    if isinstance(snapshot, Snapshot):
        return snapshot.service
    return Service.model_validate(snapshot["service"])


def _event_names(snapshot: Mapping[str, Any]) -> Any:
    """The slice of `Content` that `promise_due` reads (event names) from a snapshot."""
    events = {eid: Event.model_validate(data) for eid, data in snapshot["events"].items()}
    return SimpleNamespace(event_by_id=events)


@dataclass(frozen=True)
class Snapshot:
    """A stored snapshot parsed once: the pages showing a request, and every submission under
    one content version, reuse it instead of validating the same JSON into models again.
    Snapshots never change once stored (they are keyed by the digest of their JSON)."""

    data: Mapping[str, Any]
    service: Service
    event_names: Any  # the `Content`-like slice `promise_due` reads

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(data, Service.model_validate(data["service"]), _event_names(data))

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def parsed(snapshot: Mapping[str, Any] | Snapshot) -> Snapshot:
    return snapshot if isinstance(snapshot, Snapshot) else Snapshot.parse(snapshot)


@dataclass(frozen=True)
class PromiseState:
    """One promise of a request: its rule, and its date once its clock has started."""

    promise_id: str
    use_id: str
    promise: str          # e.g. 安排门诊
    sentence: str         # e.g. 提交申请后5个工作日内安排门诊
    waiting_for: tuple[str, ...]   # names of starting events not yet recorded
    deadline: Deadline | None
    error: str | None = None       # e.g. a date outside the calendar

    @property
    def started(self) -> bool:
        return self.deadline is not None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "promise_id": self.promise_id, "use_id": self.use_id, "promise": self.promise,
            "sentence": self.sentence, "waiting_for": list(self.waiting_for),
            "started": self.started, "error": self.error,
        }
        if self.deadline is not None:
            data.update(self.deadline.as_dict())
        return data


def compute_promises(cal: WorkCalendar, snapshot: Mapping[str, Any] | Snapshot, use_id: str,
                     events: Mapping[str, dt.date]) -> list[PromiseState]:
    """Every promise of `use_id` in the snapshot, given the dates of the events so far."""
    snap = parsed(snapshot)
    service = snap.service
    names = snap.event_names
    content_like = cast(Content, names)
    states: list[PromiseState] = []
    for promise in service.promises_for(use_id):
        waiting = tuple(names.event_by_id[e].name if e in names.event_by_id else e
                        for e in promise.starts_after if e not in events)
        deadline: Deadline | None = None
        error: str | None = None
        if not waiting:
            try:
                deadline = promise_due(cal, content_like, promise, events)
            except CalendarRangeError as exc:
                error = str(exc)
        states.append(PromiseState(promise.id, promise.use, promise.promise,
                                   promise_sentence(content_like, promise), waiting,
                                   deadline, error))
    return states


def flow_progress(snapshot: Mapping[str, Any] | Snapshot, events: Mapping[str, dt.date]
                  ) -> tuple[list[dict[str, Any]], int]:
    """The service's flow with each step marked done, and the index of the current step.

    A step is done when its event (or the event of a later step) has been recorded; the current
    step is the first one not done (len(flow) when all are done).
    """
    service = snapshot_model(snapshot)
    flow = service.flow
    last_done = -1
    for i, step in enumerate(flow):
        if step.event and step.event in events:
            last_done = i
    steps = []
    for i, step in enumerate(flow):
        steps.append({"id": step.id, "title": step.title, "detail": step.detail,
                      "actor": step.actor, "promises": list(step.promises),
                      "done": i <= last_done, "current": i == last_done + 1})
    return steps, last_done + 1
