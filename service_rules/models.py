"""Typed content models. Each file's model refuses unknown keys (typos), wrong types and
non-positive working days; `Content.reference_problems` checks links between files."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Actor = Literal["insured", "service", "hospital", "lab", "expert"]

ACTOR_NAMES: dict[str, str] = {
    "insured": "被保险人",
    "service": "服务人员",
    "hospital": "医院",
    "lab": "实验室",
    "expert": "专家",
}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Hotline(Model):
    display: Text
    tel: Annotated[str, StringConstraints(pattern=r"^\d{7,12}$")]


class Product(Model):
    name: Text
    hotline: Hotline
    waiting_period_days: Annotated[int, Field(ge=0, le=730)]
    waiting_period_note: Text
    identity_note: Text
    sensitive_consent: Text
    fairness_notes: list[Text] = []


class Event(Model):
    id: Id
    name: Text
    actor: Actor
    needs_date: bool = False


# Events the software itself acts on, with what it does with each. An editor may change their
# names (what people read) but not their ids: `make check` names any that is missing.
CODE_EVENTS: dict[str, str] = {
    "request": "每个申请的第一步（提交申请）",
    "identity_confirmed": "通知申请人身份与保障已确认",
    "records_complete": "第二诊疗意见的时效从这里起算，并通知申请人",
    "admission_slip_issued": "住院预约的时效从这里起算，申请表里可以填写它的日期",
    "appointment_booked": "记录预约的医院、日期和时间，并告诉申请人",
    "sample_guided": "记录样本寄送地址、收件人和随样本附上的材料，并告诉申请人",
    "sample_received": "基因检测的时效从这里起算，记录样本类型",
    "report_issued": "通知申请人报告已出具",
    "billing_accepted": "回复是否启动直付服务（兑现承诺）",
    "billing_declined": "不符合直付范围：结束申请，不算使用次数",
    "completed": "结束申请（服务完成）",
    "missed": "结束申请，按手册视为服务已完成（算使用次数）",
    "lapsed": "结束申请（服务终止，例如无法提供样本）",
    "documents_requested": "请申请人补充资料：申请人在进度页面看到缺少什么并上传",
    "documents_received": "申请人在进度页面补交了资料",
}


class DocumentType(Model):
    id: Id
    name: Text


UNLIMITED = "unlimited"


def _times(value: object) -> object:
    """A positive whole number, or `unlimited` (no limit per policy year)."""
    if value == UNLIMITED or (isinstance(value, int) and not isinstance(value, bool)
                              and value > 0):
        return value
    raise PydanticCustomError("times", "使用次数 {value} 不对", {"value": repr(value)})


class Use(Model):
    id: Id
    name: Text
    # how many times per policy year; `unlimited` when the brochure sets no number
    times: Annotated[int | Literal["unlimited"], BeforeValidator(_times)]

    @property
    def limited(self) -> bool:
        return self.times != UNLIMITED

    @property
    def times_text(self) -> str:
        """1次 / 不限次数."""
        return f"{self.times}次" if self.limited else "不限次数"


class Promise(Model):
    id: Id
    use: Id
    working_days: PositiveInt
    starts_after: Annotated[list[Id], Field(min_length=1)]
    promise: Text


class AdvanceBooking(Model):
    working_days: PositiveInt
    text: Text


class DocumentRef(Model):
    id: Id
    required: bool = False


class Sample(Model):
    id: Id
    name: Text


class Note(Model):
    kind: Literal["rule", "disclaimer", "note"]
    text: Text


class FlowStep(Model):
    id: Id
    title: Text
    actor: Actor
    detail: Text
    insured_provides: list[Text] = []
    promises: list[Id] = []
    event: Id | None = None


class Service(Model):
    id: Id
    name: Text
    short_name: Text
    summary: Text
    eligibility: Text
    purpose: Text | None = None
    lapse: Text
    # whether the waiting period (product.waiting_period_days) holds for this service
    waiting_period: bool = True
    uses: Annotated[list[Use], Field(min_length=1)]
    promises: list[Promise] = []
    advance_booking: AdvanceBooking | None = None
    documents: list[DocumentRef] = []
    samples_note: Text | None = None
    samples: list[Sample] = []
    hospitals_note: Text | None = None
    notes: list[Note] = []
    flow: Annotated[list[FlowStep], Field(min_length=1)]

    def promise(self, promise_id: str) -> Promise:
        return next(p for p in self.promises if p.id == promise_id)

    def use(self, use_id: str) -> Use:
        return next(u for u in self.uses if u.id == use_id)

    def promises_for(self, use_id: str) -> list[Promise]:
        return [p for p in self.promises if p.use == use_id]

    @property
    def required_documents(self) -> list[DocumentRef]:
        return [d for d in self.documents if d.required]


class ServicesFile(Model):
    product: Product
    events: Annotated[list[Event], Field(min_length=1)]
    documents: list[DocumentType]
    services: Annotated[list[Service], Field(min_length=1)]


class City(Model):
    id: Id
    name: Text
    province: Text


class CitiesFile(Model):
    coverage_note: Text
    cities: Annotated[list[City], Field(min_length=1)]


class Hospital(Model):
    id: Id
    name: Text
    short_name: Text | None = None
    city: Id
    # shown to an applicant whose appointment is there when staff give no other address
    address: Text | None = None
    services: Annotated[list[Id], Field(min_length=1)]


class HospitalsFile(Model):
    sample_data: bool = False
    hospitals: list[Hospital]


class HolidayRange(Model):
    name: Text
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")


class MakeupDay(Model):
    name: Text
    date: dt.date


class YearArrangement(Model):
    notice: Text
    holidays: Annotated[list[HolidayRange], Field(min_length=1)]
    workdays: list[MakeupDay] = []


class CalendarFile(Model):
    years: dict[Annotated[int, Field(ge=2004, le=2099)], YearArrangement] = {}


# -- the insurer's policy roster (content/roster.yaml) ---------------------------------------
# Register fields a roster column can fill, with their Chinese names (for messages).
ROSTER_FIELDS: dict[str, str] = {
    "policy_number": "保单号",
    "insured_name": "被保险人姓名",
    "id_number": "身份证号码",
    "first_effective": "保单首次生效日期",
    "period_start": "本期保险起期",
    "period_end": "本期保险止期",
    "status": "保单状态",
    "waiting_period_days": "等待期天数",
    "plan": "保障计划",
}
OPTIONAL_ROSTER_FIELDS = ("waiting_period_days", "plan")
Headers = Annotated[list[Text], Field(min_length=1)]


class RosterColumns(Model):
    """For each register field, the column headings that may hold it in the insurer's file."""

    policy_number: Headers = ["保单号"]
    insured_name: Headers = ["被保险人姓名"]
    id_number: Headers = ["身份证号码"]
    first_effective: Headers = ["首次生效日期"]
    period_start: Headers = ["本期起期"]
    period_end: Headers = ["本期止期"]
    status: Headers = ["保单状态"]
    waiting_period_days: list[Text] = []
    plan: list[Text] = []


class RosterStatuses(Model):
    """The words of the status column, by what they mean."""

    in_force: Headers = ["有效"]
    lapsed: Headers = ["失效"]
    cancelled: Headers = ["退保"]


class RosterFile(Model):
    columns: RosterColumns = RosterColumns()
    statuses: RosterStatuses = RosterStatuses()
    # an applicant the register cannot confirm still reaches staff, marked 待核实 (the
    # insurer's file can be late); false: such a request is refused with the hotline
    pending_when_not_verified: bool = True


# -- the privacy notice and retention settings (content/privacy.yaml) -----------------------
# the rights of PIPL arts. 44-47 the notice must say how to use, with their Chinese names
RIGHTS: dict[str, str] = {"know": "查询", "copy": "复制", "correct": "更正", "delete": "删除",
                          "withdraw": "撤回同意"}


class DataItem(Model):
    name: Text
    why: Text
    sensitive: bool = False


class Recipient(Model):
    with_: Text = Field(alias="with")
    what: Text
    why: Text


class Retention(Model):
    text: Text
    # years kept after the service ends (completed, lapsed, declined): the consent says three
    after_service_years: Annotated[int, Field(ge=1, le=30)]
    # days kept after a withdrawal (of the request or of the consent) before deletion
    withdrawn_grace_days: Annotated[int, Field(ge=0, le=365)]


class Right(Model):
    id: Literal["know", "copy", "correct", "delete", "withdraw"]
    name: Text
    how: Text


class PrivacyFile(Model):
    updated: dt.date
    controller: Text
    purposes: Annotated[list[Text], Field(min_length=1)]
    data: Annotated[list[DataItem], Field(min_length=1)]
    sharing: list[Recipient]
    sharing_note: Text
    retention: Retention
    security: Text
    rights: Annotated[list[Right], Field(min_length=1)]
    contact: Text

    @classmethod
    def absent(cls) -> PrivacyFile:
        """Content from before privacy.yaml existed: no notice, the consent's three years and
        thirty days' grace (so an old revision still loads for `make diff`)."""
        return cls.model_construct(
            updated=dt.date(2000, 1, 1), controller="", purposes=[], data=[], sharing=[],
            sharing_note="", security="", rights=[], contact="",
            retention=Retention.model_construct(text="", after_service_years=3,
                                                withdrawn_grace_days=30))

    @property
    def present(self) -> bool:
        return bool(self.controller)

    @property
    def version(self) -> str:
        """The notice's version: the first 12 hex digits of the SHA-256 of its canonical
        JSON, so any change of wording is a new version without anyone keeping a number."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


CHINESE_NUMBERS = "零一二三四五六七八九十"


def _years_phrases(years: int) -> tuple[str, ...]:
    """三年 / 3年 / 3 年: how a text may state a number of years."""
    out = [f"{years}年", f"{years} 年"]
    if years <= 10:
        out.append(f"{CHINESE_NUMBERS[years]}年")
    return tuple(out)


Loc = tuple[str | int, ...]
WORKING_DAYS_IN_TEXT = re.compile(r"(\d+)\s*个工作日")


def _texts(value: object, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Every string inside a dumped model, with its location."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, (*loc, k))]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _texts(v, (*loc, i))]
    return []


def _stale_day_counts(service: Service) -> list[tuple[Loc, str, str]]:
    """Text that states a number of working days no promise of the service has: after a
    promise changes, the prose beside it must change too, or the site would state both."""
    allowed = {p.working_days for p in service.promises}
    if service.advance_booking:
        allowed.add(service.advance_booking.working_days)
    found = []
    for loc, text in _texts(service.model_dump(by_alias=True, exclude={"promises"})):
        for match in WORKING_DAYS_IN_TEXT.finditer(text):
            if int(match.group(1)) not in allowed:
                days = "、".join(str(d) for d in sorted(allowed)) or "（无）"
                found.append((
                    loc,
                    f"这段文字写着“{match.group(0)}”，但本服务的时效承诺是 {days} 个工作日。",
                    "把这段文字里的天数改成与 promises（或 advance_booking）一致的天数。"))
    return found


# (file key, location, message, fix)
RefProblem = tuple[str, Loc, str, str]


class Content(BaseModel):
    """All content files, validated together. `version` identifies the exact content."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    services_file: ServicesFile
    cities_file: CitiesFile
    hospitals_file: HospitalsFile
    calendar_file: CalendarFile
    roster_file: RosterFile = RosterFile()
    privacy_file: PrivacyFile = Field(default_factory=PrivacyFile.absent)
    version: str = ""

    # -- convenient views -------------------------------------------------
    @property
    def product(self) -> Product:
        return self.services_file.product

    @property
    def services(self) -> list[Service]:
        return self.services_file.services

    @property
    def cities(self) -> list[City]:
        return self.cities_file.cities

    @property
    def hospitals(self) -> list[Hospital]:
        return self.hospitals_file.hospitals

    @cached_property
    def service_by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def event_by_id(self) -> dict[str, Event]:
        return {e.id: e for e in self.services_file.events}

    @cached_property
    def document_by_id(self) -> dict[str, DocumentType]:
        return {d.id: d for d in self.services_file.documents}

    @cached_property
    def city_by_id(self) -> dict[str, City]:
        return {c.id: c for c in self.cities}

    @cached_property
    def hospital_by_id(self) -> dict[str, Hospital]:
        return {h.id: h for h in self.hospitals}

    def service(self, service_id: str) -> Service:
        return self.service_by_id[service_id]

    def hospitals_in(self, city_id: str, service_id: str | None = None) -> list[Hospital]:
        return [h for h in self.hospitals
                if h.city == city_id and (service_id is None or service_id in h.services)]

    def provinces(self) -> dict[str, list[City]]:
        """Cities grouped by province, in content order."""
        grouped: dict[str, list[City]] = {}
        for city in self.cities:
            grouped.setdefault(city.province, []).append(city)
        return grouped

    # -- links between items and files ------------------------------------
    def reference_problems(self) -> list[RefProblem]:
        problems: list[RefProblem] = []
        sf = self.services_file

        def unique(file: str, base: Loc, items: list, what: str) -> None:
            seen: dict[str, int] = {}
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append((file, (*base, i, "id"),
                                     f"{what}编号“{item.id}”重复"
                                     f"（第 {seen[item.id] + 1} 项已经用过）。",
                                     "每个编号只能用一次：改成一个新的编号，或删除重复的这一项。"))
                else:
                    seen[item.id] = i

        unique("services", ("events",), sf.events, "事件")
        unique("services", ("documents",), sf.documents, "资料")
        unique("services", ("services",), sf.services, "服务")
        unique("cities", ("cities",), self.cities, "城市")
        unique("hospitals", ("hospitals",), self.hospitals, "医院")
        names: dict[str, int] = {}
        for i, city in enumerate(self.cities):
            if city.name in names:
                problems.append(("cities", ("cities", i, "name"), f"城市“{city.name}”写了两次。",
                                 "删除重复的这一项。"))
            names.setdefault(city.name, i)

        events = ", ".join(self.event_by_id)
        unknown = [e.id for e in sf.events if e.id not in CODE_EVENTS]
        for event_id, use in CODE_EVENTS.items():
            if event_id in self.event_by_id:
                continue
            close = difflib.get_close_matches(event_id, unknown, n=1, cutoff=0.5)
            where: Loc = (("events", next(i for i, e in enumerate(sf.events)
                                          if e.id == close[0]), "id")
                          if close else ("events",))
            hint = f"是不是把“{event_id}”改成了“{close[0]}”？请改回“{event_id}”。" if close \
                else f"在 events 里加回编号为“{event_id}”的事件。"
            problems.append(("services", where,
                             f"系统要用到事件“{event_id}”（{use}），但 events 里没有它。",
                             hint + "事件编号不能改名或删除；要改显示给人看的文字，只改 name。"))
        for si, svc in enumerate(sf.services):
            base: Loc = ("services", si)
            unique("services", (*base, "uses"), svc.uses, "使用次数")
            unique("services", (*base, "promises"), svc.promises, "时效承诺")
            unique("services", (*base, "documents"), svc.documents, "资料")
            unique("services", (*base, "samples"), svc.samples, "样本")
            unique("services", (*base, "flow"), svc.flow, "流程步骤")
            use_ids = {u.id for u in svc.uses}
            promise_ids = {p.id for p in svc.promises}
            for pi, promise in enumerate(svc.promises):
                if promise.use not in use_ids:
                    problems.append(("services", (*base, "promises", pi, "use"),
                                     f"时效承诺用到的“{promise.use}”不是本服务的使用项。",
                                     "改成本服务 uses 里的一个编号："
                                     f"{', '.join(sorted(use_ids))}。"))
                for ei, event in enumerate(promise.starts_after):
                    if event not in self.event_by_id:
                        problems.append(("services", (*base, "promises", pi, "starts_after", ei),
                                         f"起算事件“{event}”不存在。",
                                         f"改成 events 里的一个编号：{events}。"))
            for di, doc in enumerate(svc.documents):
                if doc.id not in self.document_by_id:
                    problems.append(("services", (*base, "documents", di, "id"),
                                     f"资料“{doc.id}”没有在文件开头的 documents 里定义。",
                                     "在 documents 里添加这个资料（编号和中文名称），"
                                     "或改成已有的编号："
                                     + ", ".join(self.document_by_id) + "。"))
            for fi, step in enumerate(svc.flow):
                for ri, ref in enumerate(step.promises):
                    if ref not in promise_ids:
                        problems.append(("services", (*base, "flow", fi, "promises", ri),
                                         f"流程步骤引用的时效承诺“{ref}”不存在。",
                                         "改成本服务 promises 里的一个编号："
                                         + (", ".join(sorted(promise_ids))
                                            or "（本服务还没有时效承诺）")
                                         + "。"))
                if step.event is not None and step.event not in self.event_by_id:
                    problems.append(("services", (*base, "flow", fi, "event"),
                                     f"事件“{step.event}”不存在。",
                                     f"改成 events 里的一个编号：{events}。"))
            if svc.flow[0].event != "request":
                problems.append(("services", (*base, "flow", 0, "event"),
                                 "流程的第一步必须是提交申请（event: request）。",
                                 "在第一步写上 event: request。"))
            problems.extend(("services", (*base, *loc), message, fix)
                            for loc, message, fix in _stale_day_counts(svc))

        city_ids = set(self.city_by_id)
        service_ids = set(self.service_by_id)
        for hi, hospital in enumerate(self.hospitals):
            if hospital.city not in city_ids:
                problems.append(("hospitals", ("hospitals", hi, "city"),
                                 f"城市“{hospital.city}”不在覆盖城市名单里。",
                                 "改成 cities.yaml 里的城市编号（如 beijing），"
                                 "或先在 cities.yaml 里添加这个城市。"))
            for xi, sid in enumerate(hospital.services):
                if sid not in service_ids:
                    problems.append(("hospitals", ("hospitals", hi, "services", xi),
                                     f"服务“{sid}”不存在。",
                                     f"改成服务编号之一：{', '.join(sorted(service_ids))}。"))

        problems.extend(self._roster_problems())
        problems.extend(self._privacy_problems())

        for year, arrangement in self.calendar_file.years.items():
            base = ("years", year)
            for ri, rng in enumerate(arrangement.holidays):
                if rng.end < rng.start:
                    problems.append(("calendar", (*base, "holidays", ri, "to"),
                                     f"放假结束日期 {rng.end} 早于开始日期 {rng.start}。",
                                     "把 from 写成第一天、to 写成最后一天。"))
                if (rng.end - rng.start).days > 15:
                    problems.append(("calendar", (*base, "holidays", ri, "to"),
                                     f"一次放假长达 {(rng.end - rng.start).days + 1} 天，"
                                     "不像真实的安排。",
                                     "请核对通知里的起止日期。"))
                for day in (rng.start, rng.end):
                    if abs(day.year - year) > 1 or (day.year != year and day.month not in (1, 12)):
                        problems.append(("calendar", (*base, "holidays", ri),
                                         f"日期 {day} 不属于 {year} 年的安排。",
                                         f"请确认年份，或把它移到 {day.year} 年下面。"))
                        break
            for wi, makeup in enumerate(arrangement.workdays):
                if makeup.date.weekday() < 5:
                    problems.append(("calendar", (*base, "workdays", wi, "date"),
                                     f"{makeup.date} 本来就是工作日（周一到周五），"
                                     "不需要写成调休上班。",
                                     "调休上班日应是周六或周日，请核对通知。"))
                off = makeup.date.year - year
                if off and not (abs(off) == 1 and makeup.date.month in (1, 12)):
                    problems.append(("calendar", (*base, "workdays", wi, "date"),
                                     f"日期 {makeup.date} 不属于 {year} 年的安排。",
                                     "请确认年份。"))
        return problems

    def _privacy_problems(self) -> list[RefProblem]:
        """Every right named once, and the consent's retention years the same as the
        setting that deletes (the consent is what the applicant agreed to)."""
        privacy = self.privacy_file
        if not privacy.present:
            return []
        problems: list[RefProblem] = []
        seen: set[str] = set()
        for i, right in enumerate(privacy.rights):
            if right.id in seen:
                problems.append(("privacy", ("rights", i, "id"),
                                 f"权利“{right.id}”写了两次。", "删除重复的这一项。"))
            seen.add(right.id)
        for right_id, name in RIGHTS.items():
            if right_id not in seen:
                problems.append(("privacy", ("rights",),
                                 f"缺少“{name}”（{right_id}）这项权利和它的行使方式。",
                                 f"在 rights 里加上 id: {right_id}，写明 name 和 how。"))
        years = privacy.retention.after_service_years
        phrases = _years_phrases(years)
        if not any(p in self.product.sensitive_consent for p in phrases):
            problems.append(("privacy", ("retention", "after_service_years"),
                             f"保存年数是 {years} 年，但 services.yaml 的单独同意"
                             f"（sensitive_consent）里没有写“{phrases[-1]}”。",
                             "两处必须一致：修改保存年数，或同时修改单独同意的文字"
                             "（修改同意文字后，新申请会记录新的同意版本）。"))
        if not any(p in privacy.retention.text for p in phrases):
            problems.append(("privacy", ("retention", "text"),
                             f"保存期限的说明里没有写“{phrases[-1]}”，"
                             "与 after_service_years 不一致。",
                             "修改说明文字，使它与保存年数一致。"))
        return problems

    def _roster_problems(self) -> list[RefProblem]:
        """A heading or a status word may mean one thing only."""
        problems: list[RefProblem] = []
        roster = self.roster_file
        seen: dict[str, str] = {}
        for name in ROSTER_FIELDS:
            for i, heading in enumerate(getattr(roster.columns, name)):
                key = heading.replace(" ", "")
                if key in seen:
                    problems.append((
                        "roster", ("columns", name, i),
                        f"列名“{heading}”同时写在了“{ROSTER_FIELDS[seen[key]]}”"
                        f"和“{ROSTER_FIELDS[name]}”下面。",
                        "一个列名只能对应一项：删除其中一处。"))
                seen.setdefault(key, name)
        words: dict[str, str] = {}
        names = {"in_force": "有效", "lapsed": "失效", "cancelled": "退保"}
        for status in ("in_force", "lapsed", "cancelled"):
            for i, word in enumerate(getattr(roster.statuses, status)):
                if word in words:
                    problems.append((
                        "roster", ("statuses", status, i),
                        f"状态“{word}”同时写在了“{names[words[word]]}”和“{names[status]}”下面。",
                        "一个状态写法只能对应一种含义：删除其中一处。"))
                words.setdefault(word, status)
        return problems
