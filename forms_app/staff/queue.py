"""The queue (`GET /staff/`) and the search (`POST /staff/search`).

The queue is read in SQL at any size (storage/queue_reads.py): one page of 50 ordered by the
stored next due date, the counts by urgency as aggregates, and above it what falls due today
and tomorrow (calendar dates in Asia/Shanghai). Only the requests on the page have their
promises computed, for what the page shows of them.

The search is a POST, so what staff type (a reference, a name, a phone) never lands in a URL or
an access log; names and phones are found by keyed hash (storage/search.py). The typed text is
never repeated on the page or written to a log.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from service_rules.models import Service
from service_rules.queue_order import SEARCH_REFERENCE, search_kind, urgency_bounds
from service_rules.workflow import (
    CLOSED_STATUSES,
    NO_CLOCK,
    OPEN_STATUSES,
    STATUS_NAMES,
    STATUSES,
    QueueEntry,
    promise_outcomes,
    queue_entry,
)

from ..content import get_rules
from ..storage import get_crypto, get_db
from ..storage.casework import closed_on
from ..storage.models import ServiceRequest, utcnow
from ..storage.queue_reads import (
    ASSIGNED_ANY,
    ASSIGNED_MINE,
    ASSIGNED_NOBODY,
    PAGE_SIZE,
    QueueFilters,
    due_soon,
    page_count,
    queue_counts,
    queue_page,
    snapshots,
)
from ..storage.search import MAX_MATCHES, find
from ..storage.withdrawal import recently_withdrawn
from . import bp
from .forms import SearchForm
from .views import _city_name, actor, today

_PAGE = re.compile(r"[0-9]{1,12}")
ASSIGNED_CHOICES = [(ASSIGNED_ANY, "全部"), (ASSIGNED_MINE, "分配给我的"),
                    (ASSIGNED_NOBODY, "未分配")]


def _filters() -> tuple[QueueFilters, dict[str, str]]:
    """The queue's filters from the query string; an unknown value means "all"."""
    content = get_rules().content
    service_id = request.args.get("service") or None
    city_id = request.args.get("city") or None
    status = request.args.get("status") or "active"
    assigned = request.args.get("assigned") or ASSIGNED_ANY
    if service_id not in content.service_by_id:
        service_id = None
    if city_id not in content.city_by_id:
        city_id = None
    if assigned not in (ASSIGNED_MINE, ASSIGNED_NOBODY):
        assigned = ASSIGNED_ANY
    statuses: tuple[str, ...] | None
    if status == "active":
        statuses = OPEN_STATUSES
    elif status == "closed":
        statuses = CLOSED_STATUSES
    elif status in STATUSES:
        statuses = (status,)
    else:
        status, statuses = "all", None
    shown = {"service": service_id or "", "city": city_id or "", "status": status,
             "assigned": assigned}
    return QueueFilters(statuses, service_id, city_id, assigned, actor()), shown


def _page_asked() -> int | None:
    """The page number asked for (1 when none); None when it is not a positive number."""
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1
    if not _PAGE.fullmatch(raw) or int(raw) < 1:
        return None
    return int(raw)


@dataclass(frozen=True)
class Line:
    """A request as the queue shows it: the service's name, and its next promise as the engine
    computes it (the page's few rows only)."""

    req: ServiceRequest
    label: str
    entry: QueueEntry
    promise: str


def service_label(service: Service, use_id: str) -> str:
    return f"{service.name}·{service.use(use_id).name}" if len(service.uses) > 1 \
        else service.name


def _lines(requests: list[ServiceRequest], day: dt.date) -> list[Line]:
    cal = get_rules().calendar
    parsed = snapshots(get_db(), requests)
    lines = []
    for req in requests:
        snap = parsed[req.snapshot_id]
        entry = QueueEntry(None, NO_CLOCK, None)
        if req.status not in CLOSED_STATUSES:
            entry = queue_entry(promise_outcomes(cal, snap, req.use_id,
                                                 req.event_dates(), day, closed_on(req)))
        promise = next((p.promise for p in snap.service.promises
                        if p.id == req.next_due_promise), "")
        lines.append(Line(req, service_label(snap.service, req.use_id), entry, promise))
    return lines


@bp.get("/")
def queue() -> Any:
    rules = get_rules()
    filters, shown = _filters()
    db = get_db()
    day = today()
    bounds = urgency_bounds(rules.calendar, day)
    counts = queue_counts(db, filters, bounds)
    pages = page_count(counts.total)
    asked = _page_asked()
    status_code = 200
    page_problem = None
    if asked is None:
        status_code, asked = 400, 1
        page_problem = "页码应为从 1 开始的整数，下面显示的是第 1 页。"
    # past the end: the last page, so a link kept from a longer queue still shows something
    page = min(asked, pages)
    rows = _lines(queue_page(db, filters, page), day)
    soon, falling_due_total = due_soon(db, filters, day, day + dt.timedelta(days=1))
    falling_due = _lines(soon, day)
    # withdrawn requests leave the open queue at once: the last week's are listed above it
    withdrawn = recently_withdrawn(db, utcnow() - dt.timedelta(days=7))
    return render_template(
        "staff/queue.html", rows=rows, counts=counts.by_urgency, total=counts.total,
        page=page, pages=pages, per_page=PAGE_SIZE, page_problem=page_problem,
        content=rules.content, withdrawn=withdrawn, search_form=SearchForm(formdata=None),
        falling_due=falling_due, falling_due_total=falling_due_total,
        due_day=lambda req: "今天" if req.next_due == day else "明天",
        filters=shown, assigned_choices=ASSIGNED_CHOICES,
        status_choices=[("active", "未完成（待处理和处理中）"), ("closed", "已结束"),
                        ("all", "全部"), *[(s, STATUS_NAMES[s]) for s in STATUSES]],
        city_name=_city_name), status_code


@bp.post("/search")
def search() -> Any:
    """Find requests by reference, the insured's name, or a phone (one field). One match opens
    it; several are listed (masked data only); none gives a calm message. The typed text is
    not repeated anywhere: it may be personal data."""
    form = SearchForm()
    if not form.validate():
        expired = getattr(form, "csrf_token", None) is not None and form.csrf_token.errors
        flash("页面停留时间较长，请再查找一次。" if expired
              else "查找内容太长或含有无法识别的字符，请核对后再试。")
        return redirect(url_for("staff.queue"), 303)
    typed = (form.reference.data or "").strip()
    kind = search_kind(typed)
    if kind is None:
        flash("请填写申请编号、被保险人姓名或手机号码。")
        return redirect(url_for("staff.queue"), 303)
    matches = find(get_db(), get_crypto(), typed)
    if len(matches) == 1:
        return redirect(url_for("staff.request_page", reference=matches[0].reference), 303)
    if not matches:
        flash("没有找到这个申请编号，请核对后再试。" if kind == SEARCH_REFERENCE
              else "没有找到符合的申请，请核对姓名或手机号码后再试。")
        return redirect(url_for("staff.queue"), 303)
    content = get_rules().content
    return render_template(
        "staff/search_results.html", matches=matches[:MAX_MATCHES],
        more=len(matches) > MAX_MATCHES, search_form=SearchForm(formdata=None),
        service_label=lambda m: content.service_by_id[m.service_id].name
        if m.service_id in content.service_by_id else m.service_id,
        city_name=_city_name)
