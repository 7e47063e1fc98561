"""What the applicant may withdraw, and when a request's personal data is due for deletion.
Pure functions (no Flask, no database); callers pass the dates in.

- A request not yet ended (open or in progress) may be withdrawn: it ends as withdrawn (not a
  use of the service), processing and messages stop.
- The consent may be withdrawn for any request whose data is still held, ended or not: an open
  request is then withdrawn too (nothing can be done without the data); an ended request keeps
  its outcome (a completed service stays a use) and only its data goes.
- Deletion is due `after_service_years` years after the service ended (the date of the
  request's last event once it is closed), or `withdrawn_grace_days` days after a withdrawal,
  whichever comes first. An open request is never due: its service has not ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import Retention
from .workflow import CLOSED_STATUSES, OPEN_STATUSES, STATUS_WITHDRAWN

# the event a withdrawal records (it closes the request: see workflow.CLOSING_EVENTS)
WITHDRAWN_EVENT = "withdrawn"
WITHDRAWN_EVENT_NAME = "申请人撤回"
# what was withdrawn
WITHDRAW_REQUEST = "request"
WITHDRAW_CONSENT = "consent"
WITHDRAW_KINDS = (WITHDRAW_REQUEST, WITHDRAW_CONSENT)
WITHDRAW_NAMES = {WITHDRAW_REQUEST: "撤回申请", WITHDRAW_CONSENT: "撤回对处理敏感个人信息的同意"}
# why personal data was deleted
DELETED_RETENTION = "retention_ended"
DELETED_WITHDRAWN = "withdrawn"
DELETED_NAMES = {DELETED_RETENTION: "保存期满", DELETED_WITHDRAWN: "撤回后保留期满"}


def may_withdraw_request(status: str, deleted: bool = False) -> bool:
    return not deleted and status in OPEN_STATUSES


def may_withdraw_consent(status: str, consent_withdrawn: bool, deleted: bool = False) -> bool:
    return not deleted and not consent_withdrawn


def status_after_withdrawal(status: str, kind: str) -> str:
    """An open request ends as withdrawn whichever is withdrawn; an ended one keeps its status
    (a completed service stays used, so withdrawing consent cannot give a second use)."""
    if kind not in WITHDRAW_KINDS:
        raise ValueError(kind)
    return STATUS_WITHDRAWN if status in OPEN_STATUSES else status


def add_years(day: dt.date, years: int) -> dt.date:
    """The same date `years` later; 29 February becomes 28 February (the earlier date: data
    is never kept longer than the stated years)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class DeletionDue:
    day: dt.date
    reason: str   # DELETED_RETENTION or DELETED_WITHDRAWN


def deletion_due(settings: Retention, *, status: str, last_event: dt.date | None,
                 withdrawn_on: dt.date | None) -> DeletionDue | None:
    """When the request's personal data is to be deleted, or None while it is still needed.

    `last_event`: the date of its last event (Asia/Shanghai); `withdrawn_on`: the date the
    request or the consent was withdrawn, if it was."""
    candidates: list[DeletionDue] = []
    if withdrawn_on is not None:
        grace = dt.timedelta(days=settings.withdrawn_grace_days)
        candidates.append(DeletionDue(withdrawn_on + grace, DELETED_WITHDRAWN))
    if status in CLOSED_STATUSES and last_event is not None:
        candidates.append(DeletionDue(add_years(last_event, settings.after_service_years),
                                      DELETED_RETENTION))
    return min(candidates, key=lambda d: d.day) if candidates else None


def is_due(due: DeletionDue | None, today: dt.date) -> bool:
    """Deleted on the day the period runs out (three years after the end: on its third
    anniversary; thirty days after a withdrawal: on the thirtieth day)."""
    return due is not None and today >= due.day
