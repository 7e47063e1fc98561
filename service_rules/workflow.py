"""Service levels and the staff workflow rules. Pure functions (no Flask, no database).

- `classify_due`: on track / due within one working day / overdue, by the working-day engine;
- `promise_outcomes`: each promise of a request with its due date, the event that fulfils it,
  and whether it was kept (kept = that event happened on or before the promised date);
- `queue_entry`: what the staff queue sorts and marks a request by (the next promise due);
- `staff_events` / `status_after`: which events staff may record for a request, and the
  request status each one leads to (brochure rules: a missed appointment or a direct-billing
  booking not attended / not authorised counts as used; no sample means the test is void).

Dates are calendar dates in Asia/Shanghai; callers pass "today" in, so tests can freeze it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .models import Service
from .promises import PromiseState, compute_promises, snapshot_model
from .workcalendar import CalendarRangeError, WorkCalendar

# -- request statuses -------------------------------------------------------------------------
# A request in NOT_USED_STATUSES does not count as a use of the service when a later request
# asks for the same use in the same policy year.
STATUS_OPEN = "open"
STATUS_IN_PROGRESS = "in_progress"
STATUS_COMPLETED = "completed"
STATUS_LAPSED = "lapsed"
STATUS_DECLINED = "declined"
STATUS_WITHDRAWN = "withdrawn"
STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_COMPLETED, STATUS_LAPSED, STATUS_DECLINED,
            STATUS_WITHDRAWN)
NOT_USED_STATUSES = (STATUS_LAPSED, STATUS_DECLINED, STATUS_WITHDRAWN)
STATUS_NAMES = {
    STATUS_OPEN: "已提交，等待处理",
    STATUS_IN_PROGRESS: "处理中",
    STATUS_COMPLETED: "服务完成",
    STATUS_LAPSED: "服务终止",
    STATUS_DECLINED: "不符合服务范围",
    STATUS_WITHDRAWN: "已撤回",
}
# who recorded an event the applicant gave in the online form
BY_APPLICANT = "applicant"

# how a request came in, and how its consent was given
CHANNEL_ONLINE = "online"
CHANNEL_HOTLINE = "hotline"
CHANNEL_NAMES = {CHANNEL_ONLINE: "在线申请", CHANNEL_HOTLINE: "服务热线"}
CONSENT_ONLINE_FORM = "online_form"
CONSENT_PHONE = "phone"
CONSENT_NAMES = {CONSENT_ONLINE_FORM: "申请人在线勾选同意",
                 CONSENT_PHONE: "服务人员在电话中宣读，来电人口头同意"}

# -- urgency ----------------------------------------------------------------------------------
ON_TRACK = "on_track"
DUE_SOON = "due_soon"        # due today or on the next working day
OVERDUE = "overdue"
NO_CLOCK = "no_clock"        # no promise has started yet (waiting for an event)
URGENCY_NAMES = {
    ON_TRACK: "按期进行",
    DUE_SOON: "一个工作日内到期",
    OVERDUE: "已逾期",
    NO_CLOCK: "尚未起算",
}
URGENCY_ORDER = {OVERDUE: 0, DUE_SOON: 1, ON_TRACK: 2, NO_CLOCK: 3}


def classify_due(cal: WorkCalendar, today: dt.date, due: dt.date) -> str:
    """OVERDUE after the due date; DUE_SOON when at most one working day is left (due today or
    on the next working day); ON_TRACK otherwise."""
    if today > due:
        return OVERDUE
    try:
        left = cal.workdays_between(today, due)
    except CalendarRangeError:
        left = (due - today).days
    return DUE_SOON if left <= 1 else ON_TRACK


# -- statuses and events ----------------------------------------------------------------------
OPEN_STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS)
CLOSED_STATUSES = (STATUS_COMPLETED, STATUS_LAPSED, STATUS_DECLINED, STATUS_WITHDRAWN)

# events that close a request, and the status they lead to
CLOSING_EVENTS: dict[str, str] = {
    "completed": STATUS_COMPLETED,
    "missed": STATUS_COMPLETED,          # counts as used (brochure)
    "lapsed": STATUS_LAPSED,             # e.g. no sample: the genetic test is void
    "billing_declined": STATUS_DECLINED,  # not within direct billing: not a use
    "withdrawn": STATUS_WITHDRAWN,       # by the applicant (service_rules.retention): not a use
}
# events staff record when needed, never "the next step"
OPTIONAL_EVENTS = frozenset({"documents_requested"})
# a reply that the request is declined answers the "reply whether direct billing starts" promise
ALTERNATIVE_FULFILMENT: dict[str, tuple[str, ...]] = {"billing_accepted": ("billing_declined",)}

# details each event asks for, besides its date and a free note
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    # what the applicant needs to act on an arrangement (shown on the status page and in the
    # message): the appointment's department, address and what to bring; where to send a
    # sample, to whom and with what; what to sign and hand over for direct billing
    "appointment_booked": ("hospital_id", "appointment_date", "appointment_time",
                           "department", "address", "bring"),
    "sample_guided": ("sample_address", "sample_recipient", "sample_include"),
    "billing_accepted": ("sign_and_hand_over",),
    "billing_declined": ("reason",),
    "lapsed": ("reason",),
    "missed": ("reason",),
    "sample_received": ("sample_type",),
    "documents_requested": ("message",),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    # the applicant cannot send a sample without an address
    "sample_guided": ("sample_address",),
    "documents_requested": ("message",),
    "appointment_booked": ("hospital_id", "appointment_date", "appointment_time"),
    "billing_declined": ("reason",),
    "lapsed": ("reason",),
}
# events whose date may lie ahead (none: an event is recorded when it has happened; an
# appointment's own date and time are details of the booking)


def status_after(current: str, event_id: str, final_event: str | None = None) -> str:
    """The request status once `event_id` is recorded. `final_event` is the event of the
    flow's last step (e.g. the report for a second opinion): recording it completes the
    request, like `completed`."""
    if event_id in CLOSING_EVENTS:
        return CLOSING_EVENTS[event_id]
    if final_event is not None and event_id == final_event:
        return STATUS_COMPLETED
    if current == STATUS_OPEN:
        return STATUS_IN_PROGRESS
    return current


# ended requests staff may reopen (a withdrawal is the applicant's own decision: never)
REOPENABLE_STATUSES = (STATUS_COMPLETED, STATUS_LAPSED, STATUS_DECLINED)


def ends_request(event_id: str, final_event: str | None = None) -> bool:
    """Whether recording `event_id` ends the request (a closing event or the flow's last)."""
    return event_id in CLOSING_EVENTS or (final_event is not None and event_id == final_event)


def status_from_events(recorded: Iterable[str], final_event: str | None = None) -> str:
    """The status a request has from the events recorded on it after it was opened, in the
    order they were recorded: `status_after` step by step from STATUS_OPEN. What an undo or
    a reopening leaves the request in."""
    status = STATUS_OPEN
    for event_id in recorded:
        status = status_after(status, event_id, final_event)
    return status


def counts_as_used(event_id: str) -> bool:
    return CLOSING_EVENTS.get(event_id) == STATUS_COMPLETED


def staff_events(service: Service, use_id: str) -> list[str]:
    """Events staff may record for a request of `use_id`, in flow order, then the closing ones.

    The flow's events and the events the use's promises start from (e.g. the admission slip
    for an inpatient booking), never the applicant's own `request`; `missed` where the flow
    books something (an appointment, a direct-billing admission), `billing_declined` where the
    flow accepts direct billing, and `lapsed` always.
    """
    use_promises = service.promises_for(use_id)
    flow_events = {s.event for s in service.flow if s.event}
    ordered: list[str] = []

    def add(eid: str) -> None:
        if eid != "request" and eid not in ordered:
            ordered.append(eid)

    for step in service.flow:
        # a promise's starting event outside the flow (the admission slip) comes just before
        # the step that keeps the promise
        for promise in use_promises:
            if promise.id in step.promises:
                for eid in promise.starts_after:
                    if eid not in flow_events:
                        add(eid)
        if step.event:
            add(step.event)
    for promise in use_promises:
        for eid in promise.starts_after:
            add(eid)
    if "billing_accepted" in ordered:
        ordered.insert(ordered.index("billing_accepted") + 1, "billing_declined")
    if {"appointment_booked", "billing_accepted"} & set(ordered):
        ordered.append("missed")
    if service.documents:
        # before the records are complete: staff ask for what is missing, often more than once
        at = ordered.index("records_complete") if "records_complete" in ordered else 0
        ordered.insert(at, "documents_requested")
    ordered.append("lapsed")
    return ordered


def next_event(service: Service, use_id: str, events: Mapping[str, dt.date]) -> str | None:
    """The first staff event in flow order not recorded yet (None when all are)."""
    for eid in staff_events(service, use_id):
        if (eid in CLOSING_EVENTS and eid != "completed") or eid in OPTIONAL_EVENTS:
            continue
        if eid not in events:
            return eid
    return None


# -- promises kept ----------------------------------------------------------------------------
KEPT = "kept"          # fulfilled on or before the promised date
LATE = "late"          # fulfilled after the promised date
BROKEN = "broken"      # past the promised date and not fulfilled
PENDING = "pending"    # clock running, not yet due
WAITING = "waiting"    # clock not started
VOID = "void"          # request closed before the clock started or before the date
OUTCOME_NAMES = {KEPT: "已兑现", LATE: "逾期兑现", BROKEN: "已逾期未兑现", PENDING: "进行中",
                 WAITING: "尚未起算", VOID: "不适用"}


def fulfilling_events(service: Service, promise_id: str) -> tuple[str, ...]:
    """Events that fulfil a promise: the event of the flow step that carries it (and a
    declined reply where the step accepts direct billing)."""
    found: list[str] = []
    for step in service.flow:
        if promise_id in step.promises and step.event:
            found.append(step.event)
            found.extend(ALTERNATIVE_FULFILMENT.get(step.event, ()))
    return tuple(found)


@dataclass(frozen=True)
class PromiseOutcome:
    state: PromiseState
    fulfilled_by: str | None
    fulfilled_on: dt.date | None
    outcome: str
    urgency: str | None      # for PENDING/BROKEN: ON_TRACK, DUE_SOON or OVERDUE

    @property
    def due(self) -> dt.date | None:
        return self.state.deadline.date if self.state.deadline else None

    @property
    def kept(self) -> bool | None:
        """True kept, False not kept (late or broken), None not decided yet / not applicable."""
        if self.outcome == KEPT:
            return True
        if self.outcome in (LATE, BROKEN):
            return False
        return None

    @property
    def outcome_name(self) -> str:
        return OUTCOME_NAMES[self.outcome]


def promise_outcomes(cal: WorkCalendar, snapshot: Mapping[str, Any], use_id: str,
                     events: Mapping[str, dt.date], today: dt.date,
                     closed_on: dt.date | None = None) -> list[PromiseOutcome]:
    """Every promise of the request with its outcome as of `today`.

    `closed_on`: the date of the event that closed the request (lapsed, declined, completed,
    missed), if any. A promise not fulfilled when the request closed is void if it closed on
    or before the promised date, broken if after.
    """
    service = snapshot_model(snapshot)
    out: list[PromiseOutcome] = []
    for state in compute_promises(cal, snapshot, use_id, events):
        by = [(events[e], e) for e in fulfilling_events(service, state.promise_id)
              if e in events]
        fulfilled_on, fulfilled_by = min(by) if by else (None, None)
        deadline = state.deadline
        urgency: str | None = None
        if deadline is None:
            outcome = VOID if closed_on is not None else WAITING
        elif fulfilled_on is not None:
            outcome = KEPT if fulfilled_on <= deadline.date else LATE
        elif closed_on is not None:
            outcome = BROKEN if closed_on > deadline.date else VOID
        else:
            urgency = classify_due(cal, today, deadline.date)
            outcome = BROKEN if urgency == OVERDUE else PENDING
        out.append(PromiseOutcome(state, fulfilled_by, fulfilled_on, outcome, urgency))
    return out


@dataclass(frozen=True)
class QueueEntry:
    next_due: dt.date | None
    urgency: str
    outcome: PromiseOutcome | None

    @property
    def urgency_name(self) -> str:
        return URGENCY_NAMES[self.urgency]

    def sort_key(self) -> tuple[int, dt.date]:
        return (0 if self.next_due else 1, self.next_due or dt.date.max)


def queue_entry(outcomes: list[PromiseOutcome]) -> QueueEntry:
    """The request's next open promise (the earliest date not yet fulfilled) and its urgency."""
    open_ones = [o for o in outcomes if o.outcome in (PENDING, BROKEN) and o.due is not None]
    if not open_ones:
        return QueueEntry(None, NO_CLOCK, None)
    first = min(open_ones, key=lambda o: o.due or dt.date.max)
    return QueueEntry(first.due, first.urgency or ON_TRACK, first)


# -- monthly report ---------------------------------------------------------------------------
def month_bounds(day: dt.date, months_back: int = 0) -> tuple[dt.date, dt.date]:
    """First and last day of the month `months_back` months before `day`'s month."""
    y, m = day.year, day.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


@dataclass
class KeptTally:
    """Promises that fell due in a period: kept, not kept (late or broken), still pending."""

    kept: int = 0
    not_kept: int = 0
    pending: int = 0

    @property
    def decided(self) -> int:
        return self.kept + self.not_kept

    @property
    def rate(self) -> float | None:
        return self.kept / self.decided if self.decided else None

    def add(self, outcome: PromiseOutcome) -> None:
        if outcome.kept is True:
            self.kept += 1
        elif outcome.kept is False:
            self.not_kept += 1
        elif outcome.outcome == PENDING:
            self.pending += 1


def tally_by_month(outcomes: list[tuple[str, PromiseOutcome]], first: dt.date, last: dt.date
                   ) -> dict[str, KeptTally]:
    """{service_id: tally} of the promises whose date falls within [first, last]."""
    tallies: dict[str, KeptTally] = {}
    for service_id, outcome in outcomes:
        if outcome.due is None or not first <= outcome.due <= last:
            continue
        tallies.setdefault(service_id, KeptTally()).add(outcome)
    return tallies
