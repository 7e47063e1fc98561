"""What changed between two versions of the content, in plain Chinese.

`compare(old, new)` returns a `ChangeReport`: a list of `Change` items (kind, area, Chinese
sentence, machine details) and the site pages they touch. `render_text` turns it into the
summary editors read; `ChangeReport.as_dict` is the `--json` form. The comparison is pure;
only the last section (`content_from`, `run_diff`, behind `python -m service_rules diff`)
reads git and files.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .deadlines import shanghai_today
from .loader import load_content
from .models import Content, Hospital, Promise, Service
from .problems import ContentError, render_problems
from .wording import clock_start_phrase
from .workcalendar import WorkCalendar

# Areas a change belongs to; `pages_for` maps each to the site pages it shows up on.
HOME = "home"
COVERAGE = "coverage"
CALENDAR = "calendar"
ALL_SERVICES = "all_services"


def service_area(service_id: str) -> str:
    return f"service:{service_id}"


# Every page a change may touch, as (path without .md, Chinese label). Adjust here only.
PAGE_LABELS: dict[str, str] = {
    "index": "首页 index",
    "coverage": "覆盖城市页面 coverage",
    "hospitals": "合作医院名单页面 hospitals",
    "working-days": "工作日说明页面 working-days",
}


def pages_for(area: str, content: Content | None = None) -> list[tuple[str, str]]:
    """Site pages (path, Chinese label) an area of content shows up on.

    The convention: each service has its page `services/<service_id>`; cities and hospitals
    are on the coverage pages; the calendar on the working-days page; the hotline and the
    service summaries on the home page. Cities and hospitals show on both the coverage page
    and the hospital directory (`hospitals`).
    """
    if area.startswith("service:"):
        sid = area.split(":", 1)[1]
        name = ""
        if content is not None and sid in content.service_by_id:
            name = f"（{content.service_by_id[sid].name}）"
        return [(f"services/{sid}", f"服务页面 services/{sid}{name}")]
    if area == ALL_SERVICES:
        pages = [("index", PAGE_LABELS["index"])]
        if content is not None:
            for svc in content.services:
                pages += pages_for(service_area(svc.id), content)
        return pages
    if area == HOME:
        return [("index", PAGE_LABELS["index"])]
    if area == COVERAGE:
        return [("coverage", PAGE_LABELS["coverage"]), ("hospitals", PAGE_LABELS["hospitals"])]
    if area == CALENDAR:
        return [("working-days", PAGE_LABELS["working-days"])]
    raise ValueError(f"unknown area {area!r}")


@dataclass(frozen=True)
class Change:
    """One change, in one sentence. `kind` is stable for machines (e.g. promise_changed)."""

    kind: str
    section: str  # Chinese heading the sentence is listed under
    areas: tuple[str, ...]
    text: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeReport:
    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    pages: tuple[tuple[str, str], ...]  # (path, label), in first-mentioned order

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "changed": self.changed,
            "changes": [
                {"kind": c.kind, "section": c.section, "areas": list(c.areas), "text": c.text,
                 "details": c.details}
                for c in self.changes
            ],
            "pages": [{"path": p, "label": label} for p, label in self.pages],
            "note": REQUESTS_NOTE if self.changed else "",
        }


REQUESTS_NOTE = ("已经提交的申请仍按提交时的内容版本执行，时效承诺不变；"
                 "修改后的规则只适用于之后提交的新申请。")

SECTION_ORDER = ["时效承诺", "服务内容", "医疗资料", "检测样本", "服务流程", "注意事项",
                 "覆盖城市和医院", "工作日日历", "产品设置"]


# -- small helpers ---------------------------------------------------------------------------
def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[:limit - 1] + '…'}”"


def _by_id(items: Iterable[Any]) -> dict[str, Any]:
    return {item.id: item for item in items}


def _join(names: Sequence[str]) -> str:
    return "、".join(names) if names else "（无）"


def _days(n: int) -> str:
    return f"{n}个工作日"


class _Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, kind: str, section: str, areas: Iterable[str], text: str, **details: Any
            ) -> None:
        self.changes.append(Change(kind, section, tuple(areas), text, details))


# -- services --------------------------------------------------------------------------------
def _promise_sentence(content: Content, svc: Service, p: Promise) -> str:
    return (f"{svc.name}·{p.promise}：{clock_start_phrase(content, p)}后"
            f"{_days(p.working_days)}内")


def _compare_promises(out: _Collector, old: Content, new: Content, o: Service, n: Service
                      ) -> None:
    area = [service_area(n.id)]
    old_p, new_p = _by_id(o.promises), _by_id(n.promises)
    for pid, p in new_p.items():
        if pid not in old_p:
            out.add("promise_added", "时效承诺", area,
                    f"新增时效承诺：{_promise_sentence(new, n, p)}", service=n.id, promise=pid,
                    working_days=p.working_days)
            continue
        q = old_p[pid]
        label = f"{n.name}·{p.promise}"
        if q.working_days != p.working_days:
            longer = "延长" if p.working_days > q.working_days else "缩短"
            out.add("promise_changed", "时效承诺", area,
                    f"{label}：{_days(q.working_days)} → {_days(p.working_days)}（{longer}）",
                    service=n.id, promise=pid, field="working_days",
                    old=q.working_days, new=p.working_days)
        if q.starts_after != p.starts_after:
            out.add("promise_changed", "时效承诺", area,
                    f"{label}：起算事件 {clock_start_phrase(old, q)} → "
                    f"{clock_start_phrase(new, p)}",
                    service=n.id, promise=pid, field="starts_after",
                    old=list(q.starts_after), new=list(p.starts_after))
        if q.promise != p.promise:
            out.add("promise_changed", "时效承诺", area,
                    f"{n.name}的时效承诺内容：{_quote(q.promise)} → {_quote(p.promise)}",
                    service=n.id, promise=pid, field="promise", old=q.promise, new=p.promise)
        if q.use != p.use:
            out.add("promise_changed", "时效承诺", area,
                    f"{label}：适用于 {o.use(q.use).name if q.use in _by_id(o.uses) else q.use}"
                    f" → {n.use(p.use).name}",
                    service=n.id, promise=pid, field="use", old=q.use, new=p.use)
    for pid, q in old_p.items():
        if pid not in new_p:
            out.add("promise_removed", "时效承诺", area,
                    f"删除时效承诺：{_promise_sentence(old, o, q)}", service=n.id, promise=pid,
                    working_days=q.working_days)

    ob, nb = o.advance_booking, n.advance_booking
    if ob is None and nb is not None:
        out.add("advance_booking_added", "时效承诺", area,
                f"{n.name}：新增提前预约要求，需提前{_days(nb.working_days)}预约",
                service=n.id, new=nb.working_days)
    elif ob is not None and nb is None:
        out.add("advance_booking_removed", "时效承诺", area,
                f"{n.name}：取消提前{_days(ob.working_days)}预约的要求", service=n.id,
                old=ob.working_days)
    elif ob is not None and nb is not None:
        if ob.working_days != nb.working_days:
            out.add("advance_booking_changed", "时效承诺", area,
                    f"{n.name}·提前预约：{_days(ob.working_days)} → {_days(nb.working_days)}",
                    service=n.id, old=ob.working_days, new=nb.working_days)
        if ob.text != nb.text:
            out.add("text_changed", "服务内容", area,
                    f"{n.name}·提前预约说明：{_quote(ob.text)} → {_quote(nb.text)}",
                    service=n.id, field="advance_booking.text")


def _compare_documents(out: _Collector, old: Content, new: Content, o: Service, n: Service
                       ) -> None:
    area = [service_area(n.id)]
    old_d, new_d = _by_id(o.documents), _by_id(n.documents)

    def name(content: Content, doc_id: str) -> str:
        doc = content.document_by_id.get(doc_id)
        return doc.name if doc else doc_id

    for did, d in new_d.items():
        if did not in old_d:
            kind = "必交" if d.required else "可选"
            out.add("document_added", "医疗资料", area,
                    f"{n.name}：新增{kind}资料“{name(new, did)}”", service=n.id, document=did,
                    required=d.required)
        elif old_d[did].required != d.required:
            text = "改为必须递交的资料" if d.required else "改为可选资料（不再必须递交）"
            out.add("document_required" if d.required else "document_optional", "医疗资料",
                    area, f"{n.name}：“{name(new, did)}”{text}", service=n.id, document=did,
                    required=d.required)
    for did in old_d:
        if did not in new_d:
            out.add("document_removed", "医疗资料", area,
                    f"{n.name}：不再列出资料“{name(old, did)}”", service=n.id, document=did)


def _compare_samples(out: _Collector, o: Service, n: Service) -> None:
    area = [service_area(n.id)]
    old_s, new_s = _by_id(o.samples), _by_id(n.samples)
    for sid, s in new_s.items():
        if sid not in old_s:
            out.add("sample_added", "检测样本", area, f"{n.name}：新增样本类型“{s.name}”",
                    service=n.id, sample=sid)
        elif old_s[sid].name != s.name:
            out.add("sample_changed", "检测样本", area,
                    f"{n.name}：样本类型“{old_s[sid].name}”改名为“{s.name}”",
                    service=n.id, sample=sid)
    for sid, s in old_s.items():
        if sid not in new_s:
            out.add("sample_removed", "检测样本", area, f"{n.name}：删除样本类型“{s.name}”",
                    service=n.id, sample=sid)
    if o.samples_note != n.samples_note:
        out.add("text_changed", "检测样本", area, f"{n.name}：样本说明有改动",
                service=n.id, field="samples_note", old=o.samples_note, new=n.samples_note)


FLOW_FIELDS: dict[str, str] = {
    "title": "标题", "actor": "由谁做", "detail": "说明", "insured_provides": "被保险人提供",
    "promises": "关联的时效承诺", "event": "记录的事件",
}


def _compare_flow(out: _Collector, o: Service, n: Service) -> None:
    area = [service_area(n.id)]
    old_f, new_f = _by_id(o.flow), _by_id(n.flow)
    for fid, step in new_f.items():
        if fid not in old_f:
            out.add("flow_step_added", "服务流程", area,
                    f"{n.name}：新增流程步骤“{step.title}”", service=n.id, step=fid)
            continue
        before = old_f[fid]
        fields = [label for key, label in FLOW_FIELDS.items()
                  if getattr(before, key) != getattr(step, key)]
        if fields:
            text = f"{n.name}：流程步骤“{step.title}”的{ '、'.join(fields)}有改动"
            if before.title != step.title:
                text += f"（原标题“{before.title}”）"
            out.add("flow_step_changed", "服务流程", area, text, service=n.id, step=fid,
                    fields=[k for k in FLOW_FIELDS if getattr(before, k) != getattr(step, k)])
    for fid, step in old_f.items():
        if fid not in new_f:
            out.add("flow_step_removed", "服务流程", area,
                    f"{n.name}：删除流程步骤“{step.title}”", service=n.id, step=fid)
    common_old = [f for f in old_f if f in new_f]
    common_new = [f for f in new_f if f in old_f]
    if common_old != common_new:
        out.add("flow_reordered", "服务流程", area, f"{n.name}：流程步骤的顺序有调整",
                service=n.id)


NOTE_KINDS = {"rule": "服务规则", "disclaimer": "服务声明", "note": "说明"}


def _compare_notes(out: _Collector, o: Service, n: Service) -> None:
    area = [service_area(n.id)]
    old_n = [(x.kind, x.text) for x in o.notes]
    new_n = [(x.kind, x.text) for x in n.notes]
    matcher = difflib.SequenceMatcher(a=old_n, b=new_n, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        removed, added = old_n[i1:i2], new_n[j1:j2]
        if op == "replace" and len(removed) == len(added):  # edited in place
            for (kind_a, a), (kind_b, b) in zip(removed, added, strict=True):
                out.add("note_changed", "注意事项", area,
                        f"{n.name}：{NOTE_KINDS[kind_a]}{_quote(a)} 改为{NOTE_KINDS[kind_b]}"
                        f"{_quote(b)}", service=n.id, old=a, new=b)
            continue
        for kind, text in added:
            if (kind, text) not in old_n:
                out.add("note_added", "注意事项", area,
                        f"{n.name}：新增{NOTE_KINDS[kind]}{_quote(text)}", service=n.id, note=text)
        for kind, text in removed:
            if (kind, text) not in new_n:
                out.add("note_removed", "注意事项", area,
                        f"{n.name}：删除{NOTE_KINDS[kind]}{_quote(text)}", service=n.id,
                        note=text)


SERVICE_TEXT_FIELDS: dict[str, str] = {
    "name": "名称", "short_name": "简称", "summary": "简介", "eligibility": "资格说明",
    "purpose": "服务目的", "lapse": "终止说明", "hospitals_note": "服务医院说明",
}


def _compare_service(out: _Collector, old: Content, new: Content, o: Service, n: Service
                     ) -> None:
    area = [service_area(n.id)]
    for key, label in SERVICE_TEXT_FIELDS.items():
        a, b = getattr(o, key), getattr(n, key)
        if a != b:
            areas = area + ([HOME] if key in ("name", "short_name", "summary") else [])
            if key in ("name", "short_name"):
                text = f"{o.name}的{label}：“{a}” → “{b}”"
            else:
                text = f"{n.name}的{label}有改动：{_quote(b or '（删除）')}"
            out.add("text_changed", "服务内容", areas, text, service=n.id, field=key,
                    old=a, new=b)
    old_u, new_u = _by_id(o.uses), _by_id(n.uses)
    for uid, u in new_u.items():
        if uid not in old_u:
            out.add("use_added", "服务内容", area, f"{n.name}：新增“{u.name}”{u.times_text}",
                    service=n.id, use=uid)
        elif old_u[uid].times != u.times or old_u[uid].name != u.name:
            v = old_u[uid]
            out.add("use_changed", "服务内容", area,
                    f"{n.name}：“{v.name}”{v.times_text} → “{u.name}”{u.times_text}",
                    service=n.id, use=uid, old=v.times, new=u.times)
    for uid, u in old_u.items():
        if uid not in new_u:
            out.add("use_removed", "服务内容", area, f"{n.name}：删除“{u.name}”",
                    service=n.id, use=uid)
    _compare_promises(out, old, new, o, n)
    _compare_documents(out, old, new, o, n)
    _compare_samples(out, o, n)
    _compare_flow(out, o, n)
    _compare_notes(out, o, n)


def _compare_services(out: _Collector, old: Content, new: Content) -> None:
    old_s, new_s = old.service_by_id, new.service_by_id
    for sid, svc in new_s.items():
        if sid not in old_s:
            out.add("service_added", "服务内容", [service_area(sid), HOME],
                    f"新增服务“{svc.name}”（服务页面 services/{sid}）", service=sid)
            for p in svc.promises:
                out.add("promise_added", "时效承诺", [service_area(sid)],
                        f"新增时效承诺：{_promise_sentence(new, svc, p)}", service=sid,
                        promise=p.id, working_days=p.working_days)
        else:
            _compare_service(out, old, new, old_s[sid], svc)
    for sid, svc in old_s.items():
        if sid not in new_s:
            out.add("service_removed", "服务内容", [service_area(sid), HOME],
                    f"删除服务“{svc.name}”（服务页面 services/{sid} 不再生成）", service=sid)

    # shared lists: a renamed document or event changes the wording on every page using it
    for did, doc in new.document_by_id.items():
        before = old.document_by_id.get(did)
        if before is not None and before.name != doc.name:
            users = [service_area(s.id) for s in new.services
                     if any(d.id == did for d in s.documents)]
            out.add("document_renamed", "医疗资料", users,
                    f"资料名称“{before.name}”改为“{doc.name}”", document=did)
    for eid, event in new.event_by_id.items():
        before = old.event_by_id.get(eid)
        if before is not None and before.name != event.name:
            users = [service_area(s.id) for s in new.services
                     if any(eid in p.starts_after for p in s.promises)
                     or any(step.event == eid for step in s.flow)]
            out.add("event_renamed", "时效承诺", users,
                    f"事件名称“{before.name}”改为“{event.name}”（时效承诺的起算说明随之改变）",
                    event=eid)


# -- coverage --------------------------------------------------------------------------------
def _service_short(content: Content, ids: Iterable[str]) -> list[str]:
    return [content.service_by_id[s].short_name if s in content.service_by_id else s
            for s in ids]


def _city_name(content: Content, city_id: str) -> str:
    city = content.city_by_id.get(city_id)
    return city.name if city else city_id


def _grouped(content: Content, hospitals: list[Hospital]) -> str:
    by_city: dict[str, list[str]] = {}
    for h in hospitals:
        by_city.setdefault(_city_name(content, h.city), []).append(h.name)
    return "；".join(f"{city}：{'、'.join(names)}" for city, names in by_city.items())


def _compare_coverage(out: _Collector, old: Content, new: Content) -> None:
    area = [COVERAGE]
    for cid, city in new.city_by_id.items():
        before = old.city_by_id.get(cid)
        if before is None:
            out.add("city_added", "覆盖城市和医院", area + [HOME],
                    f"新增覆盖城市：{city.name}（{city.province}）", city=cid)
        elif (before.name, before.province) != (city.name, city.province):
            out.add("city_changed", "覆盖城市和医院", area,
                    f"城市“{before.name}（{before.province}）”改为“{city.name}（{city.province}）”",
                    city=cid)
    for cid, city in old.city_by_id.items():
        if cid not in new.city_by_id:
            out.add("city_removed", "覆盖城市和医院", area + [HOME],
                    f"不再覆盖城市：{city.name}（{city.province}）", city=cid)
    if old.cities_file.coverage_note != new.cities_file.coverage_note:
        out.add("text_changed", "覆盖城市和医院", area, "覆盖范围说明有改动",
                field="coverage_note")

    added = [h for h in new.hospitals if h.id not in old.hospital_by_id]
    removed = [h for h in old.hospitals if h.id not in new.hospital_by_id]
    if added:
        out.add("hospitals_added", "覆盖城市和医院", area,
                f"新增合作医院 {len(added)} 家（{_grouped(new, added)}）",
                hospitals=[h.id for h in added])
    if removed:
        out.add("hospitals_removed", "覆盖城市和医院", area,
                f"删除合作医院 {len(removed)} 家（{_grouped(old, removed)}）",
                hospitals=[h.id for h in removed])
    for h in new.hospitals:
        before = old.hospital_by_id.get(h.id)
        if before is None:
            continue
        if before.city != h.city:
            out.add("hospital_moved", "覆盖城市和医院", area,
                    f"{h.name}：城市 {_city_name(old, before.city)} → {_city_name(new, h.city)}",
                    hospital=h.id, old=before.city, new=h.city)
        if sorted(before.services) != sorted(h.services):
            gained = [s for s in h.services if s not in before.services]
            lost = [s for s in before.services if s not in h.services]
            parts = []
            if gained:
                parts.append(f"新增{_join(_service_short(new, gained))}")
            if lost:
                parts.append(f"不再提供{_join(_service_short(old, lost))}")
            out.add("hospital_services_changed", "覆盖城市和医院",
                    area + [service_area(s) for s in gained + lost],
                    f"{h.name}：可提供的服务{'，'.join(parts)}"
                    f"（{_join(_service_short(old, before.services))} → "
                    f"{_join(_service_short(new, h.services))}）",
                    hospital=h.id, old=list(before.services), new=list(h.services))
        if (before.name, before.short_name) != (h.name, h.short_name):
            out.add("hospital_renamed", "覆盖城市和医院", area,
                    f"医院名称 {before.name}（{before.short_name or '无简称'}） → "
                    f"{h.name}（{h.short_name or '无简称'}）", hospital=h.id)
    if old.hospitals_file.sample_data != new.hospitals_file.sample_data:
        text = ("医院名单标为示例数据" if new.hospitals_file.sample_data
                else "医院名单不再标为示例数据（按真实合作名单发布）")
        out.add("sample_data_changed", "覆盖城市和医院", area, text,
                new=new.hospitals_file.sample_data)


# -- calendar --------------------------------------------------------------------------------
def _compare_calendar(out: _Collector, old: Content, new: Content, today: dt.date) -> None:
    old_cal = WorkCalendar.from_content(old.calendar_file, today=today)
    new_cal = WorkCalendar.from_content(new.calendar_file, today=today)
    years = range(min(old_cal.first_year, new_cal.first_year),
                  max(old_cal.last_year, new_cal.last_year) + 1)
    gained = [y for y in years if new_cal.is_official(y) and not old_cal.is_official(y)]
    lost = [y for y in years if old_cal.is_official(y) and not new_cal.is_official(y)]
    area = [CALENDAR]
    for y in gained:
        out.add("calendar_official_added", "工作日日历", area,
                f"{y} 年有了正式放假安排：这一年的承诺日期按正式安排计算（可能因此调整），"
                "不再标注“暂定”",
                year=y)
    for y in lost:
        out.add("calendar_official_removed", "工作日日历", area,
                f"{y} 年不再有正式放假安排：这一年的承诺日期改为按法定节假日推算，标注“暂定”",
                year=y)
    old_years, new_years = old.calendar_file.years, new.calendar_file.years
    for y in sorted(set(old_years) & set(new_years)):
        if old_years[y] != new_years[y]:
            out.add("calendar_changed", "工作日日历", area,
                    f"{y} 年的放假或调休日期有改动：落在这一年的承诺日期可能随之改变", year=y)


# -- product ---------------------------------------------------------------------------------
def _compare_product(out: _Collector, old: Content, new: Content) -> None:
    a, b = old.product, new.product
    if (a.hotline.display, a.hotline.tel) != (b.hotline.display, b.hotline.tel):
        out.add("hotline_changed", "产品设置", [ALL_SERVICES],
                f"服务热线：{a.hotline.display}（{a.hotline.tel}） → "
                f"{b.hotline.display}（{b.hotline.tel}）",
                old=a.hotline.tel, new=b.hotline.tel)
    if a.waiting_period_days != b.waiting_period_days:
        out.add("waiting_period_changed", "产品设置", [HOME],
                f"等待期：{a.waiting_period_days}天 → {b.waiting_period_days}天",
                old=a.waiting_period_days, new=b.waiting_period_days)
    texts = {"name": "产品名称", "waiting_period_note": "等待期说明",
             "identity_note": "身份确认说明", "sensitive_consent": "敏感个人信息同意书",
             "fairness_notes": "工作日计算等说明"}
    for key, label in texts.items():
        if getattr(a, key) != getattr(b, key):
            out.add("text_changed", "产品设置", [HOME], f"{label}有改动", field=key)


# -- entry points ----------------------------------------------------------------------------
CHECKS: list[Callable[[_Collector, Content, Content], None]] = [
    _compare_services, _compare_coverage, _compare_product,
]


def compare(old: Content, new: Content, *, today: dt.date | None = None) -> ChangeReport:
    """Every change from `old` to `new`, with the pages it touches."""
    out = _Collector()
    for check in CHECKS:
        check(out, old, new)
    _compare_calendar(out, old, new, today or shanghai_today())
    order = {name: i for i, name in enumerate(SECTION_ORDER)}
    changes = sorted(out.changes, key=lambda c: order.get(c.section, len(order)))
    pages: dict[str, str] = {}
    for change in changes:
        for area in change.areas:
            # a removed service is named from the old content
            gone = area.startswith("service:") and area[8:] not in new.service_by_id
            for path, label in pages_for(area, old if gone else new):
                pages.setdefault(path, label)
    service_order = [s.id for s in new.services] + [s.id for s in old.services]

    def page_rank(path: str) -> tuple[int, int]:
        if path.startswith("services/"):
            return 1, service_order.index(path[9:]) if path[9:] in service_order else 0
        return {"index": 0, "coverage": 2, "hospitals": 3, "working-days": 4}.get(path, 5), 0

    ordered = sorted(pages.items(), key=lambda item: page_rank(item[0]))
    return ChangeReport(old.version, new.version, tuple(changes), tuple(ordered))


def render_text(report: ChangeReport, old_label: str = "旧版本", new_label: str = "新版本"
                ) -> str:
    """The plain-Chinese summary editors read."""
    head = (f"比较：{old_label} → {new_label}\n"
            f"内容版本：{report.old_version} → {report.new_version}")
    if not report.changed:
        return f"{head}\n内容没有变化。"
    lines = [head, f"共 {len(report.changes)} 处变化。"]
    section = None
    for change in report.changes:
        if change.section != section:
            section = change.section
            lines += ["", f"{section}："]
        lines.append(f"  - {change.text}")
    lines += ["", "会变化的网站页面："]
    lines += [f"  - {label}" for _, label in report.pages]
    lines += ["", f"说明：{REQUESTS_NOTE}"]
    return "\n".join(lines)


# -- command line side: where the two versions come from -------------------------------------
class SourceError(Exception):
    """A revision or directory that cannot be read (message in Chinese)."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def content_from(spec: str | None, workdir: Path, scratch: Path) -> tuple[Path, str]:
    """Directory holding the content for `spec`, and a Chinese label for it.

    `spec` is None (the working tree, i.e. `workdir`), an existing directory, or a git
    revision whose `content/` files are written with `git show REV:path` under `scratch`.
    """
    if spec is None:
        return workdir, f"当前内容 {workdir}"
    if Path(spec).is_dir():
        return Path(spec), f"目录 {spec}"
    top = _git(["rev-parse", "--show-toplevel"], workdir.resolve())
    if top.returncode != 0:
        raise SourceError(f"“{spec}”不是目录，而 {workdir} 不在 git 版本库里，无法读取历史版本。")
    root = Path(top.stdout.decode().strip())
    rev = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], root)
    if rev.returncode != 0:
        raise SourceError(f"找不到版本“{spec}”：请写提交编号（如 HEAD、HEAD~1、a1b2c3d）"
                          "或一个内容目录。")
    relative = workdir.resolve().relative_to(root).as_posix()
    target = scratch / re.sub(r"[^A-Za-z0-9_.-]", "_", spec) / workdir.name
    target.mkdir(parents=True)
    for filename in CONTENT_FILES:
        shown = _git(["show", f"{spec}:{relative}/{filename}"], root)
        if shown.returncode == 0:
            (target / filename).write_bytes(shown.stdout)
        # a file missing from that revision is reported by the loader as missing
    return target, f"版本 {spec}（提交 {rev.stdout.decode().strip()[:10]}）"


CONTENT_FILES = ("services.yaml", "cities.yaml", "hospitals.yaml", "calendar.yaml",
                 "roster.yaml", "privacy.yaml")


def run_diff(old_spec: str | None, new_spec: str | None, workdir: Path, *, as_json: bool,
             today: dt.date, out: TextIO, err: TextIO) -> int:
    """`diff` with no spec: HEAD vs working tree; one: that revision vs working tree; two: both.

    Exit code 0 normally, 1 when either side fails validation, 2 when a version is unreadable.
    """
    if old_spec is None:
        old_spec = "HEAD"
    with tempfile.TemporaryDirectory(prefix="content-diff-") as tmp:
        scratch = Path(tmp)
        try:
            old_dir, old_label = content_from(old_spec, workdir, scratch)
            new_dir, new_label = content_from(new_spec, workdir, scratch)
        except SourceError as exc:
            print(str(exc), file=err)
            return 2
        loaded: list[Content] = []
        failed = False
        for directory, label in ((old_dir, old_label), (new_dir, new_label)):
            try:
                loaded.append(load_content(directory))
            except ContentError as exc:
                failed = True
                print(f"{label}没有通过检查，无法比较：", file=err)
                print(render_problems(exc.problems), file=err)
        if failed:
            if as_json:
                print(json.dumps({"error": "content_invalid"}, ensure_ascii=False), file=out)
            return 1
    report = compare(loaded[0], loaded[1], today=today)
    if as_json:
        data = report.as_dict()
        data["old_label"], data["new_label"] = old_label, new_label
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
    else:
        print(render_text(report, old_label, new_label), file=out)
    return 0
