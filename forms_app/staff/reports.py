"""Reports: a CSV of every promise and whether it was kept; promises kept per service this
month and last, as a table and a server-rendered SVG chart (no JavaScript)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from flask import Response, render_template

from service_rules.identity import format_reference
from service_rules.promises import snapshot_model
from service_rules.workflow import (
    STATUS_NAMES,
    KeptTally,
    PromiseOutcome,
    month_bounds,
    tally_by_month,
)

from ..content import get_rules
from ..storage import audit, get_db
from ..storage.casework import event_name, load_requests, outcomes_of, request_day
from . import bp
from .views import actor, today

CSV_COLUMNS = ["申请编号", "服务", "服务项目", "城市", "申请状态", "申请日期", "承诺编号",
               "承诺内容", "起算日期", "承诺日期", "暂定日期", "兑现事件", "兑现日期", "结果",
               "是否兑现"]
KEPT_WORDS = {True: "是", False: "否", None: ""}


def _all_outcomes() -> list[tuple[Any, PromiseOutcome]]:
    rules = get_rules()
    day = today()
    pairs = []
    for req in load_requests(get_db()):
        for outcome in outcomes_of(rules, req, day):
            pairs.append((req, outcome))
    return pairs


@bp.get("/reports/promises.csv")
def promises_csv() -> Response:
    """One row per promise of every request (no personal data: reference numbers only)."""
    rules = get_rules()
    content = rules.content
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for req, o in _all_outcomes():
        service = snapshot_model(req.service_snapshot)
        deadline = o.state.deadline
        city = content.city_by_id.get(req.city_id or "")
        writer.writerow([
            format_reference(req.reference), service.name, service.use(req.use_id).name,
            city.name if city else "", STATUS_NAMES.get(req.status, req.status),
            request_day(req).isoformat(), o.state.promise_id, o.state.sentence,
            deadline.start.isoformat() if deadline else "",
            deadline.date.isoformat() if deadline else "",
            ("是" if deadline.provisional else "否") if deadline else "",
            event_name(rules, req.service_snapshot, o.fulfilled_by) if o.fulfilled_by else "",
            o.fulfilled_on.isoformat() if o.fulfilled_on else "",
            o.outcome_name, KEPT_WORDS[o.kept],
        ])
    audit.record(get_db(), actor(), "report_exported", report="promises.csv")
    # a BOM so spreadsheet programs read the Chinese as UTF-8
    body = "\ufeff" + out.getvalue()
    name = f"promises-{today().isoformat()}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@dataclass(frozen=True)
class Bar:
    label: str
    period: str
    tally: KeptTally
    y: int
    width: int
    colour: str


# this month dark, last month light
PERIOD_COLOURS = ("#1f6f5c", "#7fa99b")
CHART_WIDTH = 360   # px of the longest bar (100 %)


@bp.get("/reports")
def reports() -> Any:
    content = get_rules().content
    day = today()
    periods = [("本月", *month_bounds(day, 0)), ("上月", *month_bounds(day, 1))]
    pairs = [(req.service_id, o) for req, o in _all_outcomes()]
    tables = []
    for label, first, last in periods:
        tallies = tally_by_month(pairs, first, last)
        tables.append({"label": label, "first": first, "last": last,
                       "rows": [(s, tallies.get(s.id, KeptTally())) for s in content.services]})
    bars: list[Bar] = []
    y = 0
    for service in content.services:
        for table, colour in zip(tables, PERIOD_COLOURS, strict=True):
            tally = dict((s.id, t) for s, t in table["rows"])[service.id]
            rate = tally.rate or 0.0
            bars.append(Bar(service.short_name, table["label"], tally, y,
                            round(rate * CHART_WIDTH), colour))
            y += 22
        y += 12
    return render_template("staff/reports.html", tables=tables, bars=bars,
                           chart_width=CHART_WIDTH, chart_height=y, today=day)
