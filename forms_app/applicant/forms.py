"""Request forms, built from the content: one Flask-WTF form class per service.

Which fields a service's form has follows from the content alone:
- a use choice when the service has more than one use (green channel: 门诊 / 住院);
- city and hospital when some hospital in hospitals.yaml offers the service;
- an optional date for each starting event of a promise that someone outside the service team
  dates (an event with `needs_date` whose actor is the insured or a hospital), e.g. the
  admission slip of the inpatient green channel;
- an admission date when the service has `advance_booking` (direct billing);
- a sample type when the service lists samples (genetic testing);
- one upload field per document of the service (required ones enforced);
- the separate consent to sensitive personal information, text from `product.sensitive_consent`.
All messages are plain Chinese and name the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import (
    Field,
    HiddenField,
    MultipleFileField,
    RadioField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import DateInput

from service_rules.identity import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    id_number_problem,
    mobile_problem,
    normalise_id_number,
    normalise_mobile,
    normalise_reference,
)
from service_rules.models import Content, Service

from ..web.forms import ConsentField, Form
from ..web.widgets import ListedSelectField

# what the file picker offers (the bytes are checked again on arrival: see uploads.py)
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"

RELATIONS = ("本人", "配偶", "子女", "父母", "其他亲属", "其他")
SELF = "本人"
OTHER_CITY = "other"
SAMPLE_UNSURE = "unsure"
FIRST_DIAGNOSIS_CHOICES = [SelectChoice("yes", "是，这是第一次确诊恶性肿瘤"),
                           SelectChoice("no", "否，是复发、转移或以前确诊过")]
EARLIEST_DATE = dt.date(1990, 1, 1)


# -- field helpers --------------------------------------------------------------------------
def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class DateText(StringField):
    """A date typed as YYYY-MM-DD (the browser shows a date picker); the raw text is kept on
    error so the person sees what they typed. `data` is a `datetime.date` or None."""

    widget = DateInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = (valuelist[0] if valuelist else "") or ""
        self.raw = str(self.raw).strip()
        self.data = None
        self.parse_error: str | None = None
        if not self.raw:
            return
        text = self.raw.replace("/", "-").replace(".", "-")
        try:
            self.data = dt.date.fromisoformat(text)
        except ValueError:
            try:
                self.data = dt.datetime.strptime(text, "%Y-%m-%d").date()
            except ValueError:
                self.parse_error = f"{self.label.text}“{self.raw[:20]}”无法识别，" \
                                   "请按 年-月-日 填写，例如 2026-03-15。"

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None and self.raw != "":
            return self.raw
        return self.data.isoformat() if isinstance(self.data, dt.date) else ""

    def pre_validate(self, form: Any) -> None:
        if getattr(self, "parse_error", None):
            raise ValidationError(self.parse_error)


def required(message: str) -> Any:
    def check(form: Any, field: Field) -> None:
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()) or data is False:
            field.errors[:] = []
            raise ValidationError(message)
    check.field_flags = {"required": True}  # type: ignore[attr-defined]
    return check


def max_length(n: int, what: str) -> Any:
    def check(form: Any, field: Field) -> None:
        if field.data and len(field.data) > n:
            raise ValidationError(f"{what}最多{n}个字，您填写了{len(field.data)}个字。")
    return check


def no_control_chars(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0
                                           for c in field.data):
        raise ValidationError(f"{field.label.text}里有无法显示的字符，请删除后重新填写。")


def date_between(earliest: dt.date | None = None, latest_today: bool = False) -> Any:
    def check(form: Any, field: Field) -> None:
        if field.data is None:
            return
        today: dt.date = form.today
        if latest_today and field.data > today:
            raise ValidationError(f"{field.label.text}不能晚于今天（{today.isoformat()}）。")
        if field.data < (earliest or EARLIEST_DATE):
            raise ValidationError(f"{field.label.text}太早了，请核对年份。")
        if field.data > today + dt.timedelta(days=366):
            raise ValidationError(f"{field.label.text}太晚了，请核对年份。")
    return check


def validate_id_number(form: Any, field: Field) -> None:
    value = normalise_id_number(field.data or "")
    problem = id_number_problem(value, today=form.today)
    if problem:
        raise ValidationError(problem)  # the typed value is shown again as it was
    field.data = value


def validate_mobile(form: Any, field: Field) -> None:
    if not field.data:
        return
    value = normalise_mobile(field.data)
    problem = mobile_problem(value)
    if problem:
        raise ValidationError(problem)
    field.data = value


def validate_policy_number(form: Any, field: Field) -> None:
    value = (field.data or "").replace(" ", "").upper()
    if not value:
        return
    if not (4 <= len(value) <= 32) or not all(c.isascii() and (c.isalnum() or c == "-")
                                               for c in value):
        raise ValidationError("保单号由4到32位字母、数字或横线组成，请按保单上的号码填写。")
    field.data = value


# -- the form ---------------------------------------------------------------------------------
class RequestForm(Form):
    """Fields common to every service; `form_for` adds the service's own."""

    class Meta:
        # the CSRF check is done by form.validate() so an expired token re-shows the form
        # with the values kept (`validate_keeping_values`)
        csrf = True

    submission_token = HiddenField()
    insured_name = StringField(
        "被保险人姓名", filters=[strip],
        validators=[required("请填写被保险人姓名。"), max_length(50, "姓名"), no_control_chars],
        render_kw={"autocomplete": "name"})
    id_number = StringField(
        "被保险人身份证号码", filters=[strip], validators=[validate_id_number],
        description="18位，最后一位可能是字母X。",
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 30,
                   "spellcheck": "false", "autocapitalize": "characters"})
    phone = StringField(
        "被保险人手机号码", filters=[strip],
        validators=[required("请填写被保险人手机号码。"), validate_mobile],
        description="我们会用这个号码联系被保险人。",
        render_kw={"autocomplete": "tel", "inputmode": "tel", "type": "tel", "maxlength": 20})
    applicant_relation = RadioField(
        "谁在填写这份申请",
        choices=[SelectChoice(r, r if r != SELF else "被保险人本人") for r in RELATIONS],
        validators=[required("请选择您与被保险人的关系。")],
        invalid_choice_message="请从列表中选择您与被保险人的关系。", default=SELF)
    applicant_name = StringField(
        "填写人姓名", filters=[strip],
        validators=[max_length(50, "姓名"), no_control_chars],
        description="不是被保险人本人填写时必填。")
    applicant_phone = StringField(
        "填写人手机号码", filters=[strip], validators=[validate_mobile],
        description="不是被保险人本人填写时必填。",
        render_kw={"inputmode": "tel", "type": "tel", "maxlength": 20})
    policy_number = StringField(
        "保单号", filters=[strip],
        validators=[required("请填写保单号。"), validate_policy_number],
        description="在保单或电子保单上可以找到。",
        render_kw={"autocomplete": "off", "maxlength": 40, "spellcheck": "false"})
    policy_effective = DateText(
        "保单首次生效日期",
        validators=[required("请填写保单首次生效日期。"), date_between(latest_today=False)],
        description="第一次投保、保单开始生效的日期，在保单或电子保单上可以找到。"
                    "续保过的，填第一次生效的日期，不是最近一次续保的日期：等待期从这一天算起，"
                    "续保不重新计算。")
    diagnosis_date = DateText(
        "确诊日期",
        validators=[required("请填写确诊日期。"), date_between(latest_today=True)],
        description="病理报告或诊断证明上的日期。")
    first_diagnosis = RadioField(
        "是否为第一次确诊恶性肿瘤", choices=FIRST_DIAGNOSIS_CHOICES,
        validators=[required("请选择是否为第一次确诊恶性肿瘤。")],
        invalid_choice_message="请选择“是”或“否”。")
    consent = ConsentField(validators=[required("需要您单独同意处理敏感个人信息，才能办理服务。")])

    # set by form_for
    service: Service
    content: Content
    today: dt.date
    uploads: list[tuple[str, str, bool]]  # (field name, document name, required)
    event_fields: list[tuple[str, str, tuple[str, ...]]]  # (field name, event id, use ids)

    def validate_applicant_name(self, field: Field) -> None:
        if self.applicant_relation.data not in (None, "", SELF) and not field.data:
            raise ValidationError("不是被保险人本人填写时，请填写您的姓名。")

    def validate_applicant_phone(self, field: Field) -> None:
        if self.applicant_relation.data not in (None, "", SELF) and not field.data:
            raise ValidationError("不是被保险人本人填写时，请填写您的手机号码。")

    def validate_diagnosis_date(self, field: Field) -> None:
        eff = self.policy_effective.data
        if field.data and eff and (eff - field.data).days > 3650:  # no overflow at year 1
            raise ValidationError("确诊日期比保单首次生效日期早了十年以上，请核对年份。")

    # -- views of the answers ------------------------------------------------------------
    def selected_use(self) -> str:
        use = getattr(self, "use_id", None)
        return use.data if use is not None else self.service.uses[0].id

    def event_dates(self) -> dict[str, dt.date]:
        """Dates of starting events the applicant gave (only those for the chosen use)."""
        use = self.selected_use()
        dates: dict[str, dt.date] = {}
        for name, event_id, uses in self.event_fields:
            value = getattr(self, name).data
            if value is not None and use in uses:
                dates[event_id] = value
        return dates

    def files(self) -> dict[str, list[FileStorage]]:
        """Non-empty uploaded files per document type."""
        result: dict[str, list[FileStorage]] = {}
        for name, _label, _req in self.uploads:
            doc_id = name.removeprefix("doc_")
            files = [f for f in (getattr(self, name).data or [])
                     if isinstance(f, FileStorage) and f.filename]
            if files:
                result[doc_id] = files
        return result


@dataclass(frozen=True)
class FieldGroup:
    title: str
    names: tuple[str, ...]
    uploads: bool = False   # the group of file fields (the template adds the format hint)


def hospital_choices(content: Content, service_id: str) -> list[SelectChoice]:
    """Hospitals offering the service, grouped by city (optgroup) in content order."""
    choices = [SelectChoice("", "请选择医院")]
    for city in content.cities:
        for h in content.hospitals_in(city.id, service_id):
            choices.append(SelectChoice(h.id, h.name, render_kw={"data-city": city.id},
                                        optgroup=city.name))
    return choices


def starting_event_fields(content: Content, service: Service
                          ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(field name, event id, uses) for each dated starting event the applicant may know."""
    found: dict[str, list[str]] = {}
    for promise in service.promises:
        for event_id in promise.starts_after:
            event = content.event_by_id.get(event_id)
            if event and event.needs_date and event.actor in ("insured", "hospital") \
                    and event_id != "request":
                found.setdefault(event_id, [])
                if promise.use not in found[event_id]:
                    found[event_id].append(promise.use)
    return [(f"event_{eid}", eid, tuple(uses)) for eid, uses in found.items()]


def form_class(content: Content, service_id: str) -> type[RequestForm]:
    """The form class of a service, built from the content."""
    service = content.service(service_id)
    attrs: dict[str, Any] = {}

    if len(service.uses) > 1:
        attrs["use_id"] = RadioField(
            "申请哪一项", choices=[SelectChoice(u.id, u.name) for u in service.uses],
            validators=[required("请选择申请哪一项服务。")],
            invalid_choice_message="请从列表中选择申请哪一项服务。")

    has_hospitals = any(service.id in h.services for h in content.hospitals)
    if has_hospitals:
        city_choices = [SelectChoice("", "请选择城市")] + [
            SelectChoice(c.id, c.name) for c in content.cities
            if content.hospitals_in(c.id, service.id)]
        city_choices.append(SelectChoice(OTHER_CITY, "其他城市（不在上面的列表中）"))
        attrs["city"] = ListedSelectField(
            "就诊城市", choices=city_choices,
            validators=[required("请选择就诊城市。")],
            invalid_choice_message="请从列表中选择就诊城市。")
        attrs["hospital"] = ListedSelectField(
            "医院", choices=hospital_choices(content, service.id), validate_choice=False,
            description="只列出能提供本项服务的合作医院。")

    event_fields = starting_event_fields(content, service)
    for name, event_id, uses in event_fields:
        event = content.event_by_id[event_id]
        use_names = "、".join(service.use(u).name for u in uses)
        attrs[name] = DateText(
            f"{event.name}日期",
            validators=[date_between(latest_today=True)],
            description=f"{use_names}时填写；还没有可以不填，之后告诉服务人员。")

    if service.advance_booking is not None:
        attrs["admission_date"] = DateText(
            "计划入院日期", validators=[required("请填写计划入院日期。")],
            description=service.advance_booking.text)

    if service.samples:
        attrs["sample_type"] = RadioField(
            "可以提供的检测样本",
            choices=[SelectChoice(s.id, s.name) for s in service.samples]
            + [SelectChoice(SAMPLE_UNSURE, "还不确定，请服务人员指导")],
            validators=[required("请选择可以提供的检测样本；不确定可以选“还不确定”。")],
            invalid_choice_message="请从列表中选择检测样本。",
            description=service.samples_note or "")

    uploads: list[tuple[str, str, bool]] = []
    for ref in service.documents:
        name = f"doc_{ref.id}"
        label = content.document_by_id[ref.id].name
        attrs[name] = MultipleFileField(
            label, render_kw={"accept": ACCEPT},
            description="必须上传。" if ref.required else "可选。")
        uploads.append((name, label, ref.required))

    attrs["service"] = service
    attrs["content"] = content
    attrs["uploads"] = uploads
    attrs["event_fields"] = event_fields
    cls = type(f"{service.id.title().replace('_', '')}Form", (RequestForm,), attrs)
    return cls


def field_groups(form: RequestForm) -> list[FieldGroup]:
    """The order and headings in which the template shows the fields."""
    names = set(form._fields)
    def present(*candidates: str) -> tuple[str, ...]:
        return tuple(n for n in candidates if n in names)

    groups = [
        FieldGroup("被保险人", present("insured_name", "id_number", "phone")),
        FieldGroup("填写人", present("applicant_relation", "applicant_name", "applicant_phone")),
        FieldGroup("保单与病情", present("policy_number", "policy_effective", "diagnosis_date",
                                       "first_diagnosis")),
    ]
    service_fields = present("use_id", "city", "hospital",
                             *(n for n, _e, _u in form.event_fields),
                             "admission_date", "sample_type")
    if service_fields:
        groups.append(FieldGroup("服务安排", service_fields))
    if form.uploads:
        groups.append(FieldGroup("医疗资料", tuple(n for n, _l, _r in form.uploads), uploads=True))
    return groups



def validate_keeping_values(form: FlaskForm) -> tuple[bool, bool]:
    """(valid, csrf_expired). An expired or missing CSRF token is not a field error: the page
    is shown again with a fresh token and every typed value kept, and a plain notice."""
    valid = form.validate()
    csrf_field = getattr(form, "csrf_token", None)
    csrf_expired = bool(csrf_field is not None and csrf_field.errors)
    if csrf_expired:
        csrf_field.errors = []
        valid = not any(field.errors for field in form._fields.values())
    return valid, csrf_expired


def field_errors(form: FlaskForm) -> list[tuple[str, str]]:
    """(field name, message) of every field error, for the summary at the top of a form."""
    return [(name, err) for name, field in form._fields.items() for err in field.errors
            if name != "csrf_token"]


# -- status lookup ----------------------------------------------------------------------------
def _validate_reference(form: Any, field: Any) -> None:
    value = normalise_reference(field.data or "")
    if not value:
        return
    if len(value) != REFERENCE_LENGTH or any(c not in REFERENCE_ALPHABET for c in value):
        raise ValidationError("申请编号是8位字母和数字，例如 ABCD-2345"
                              "（不含字母I、O、Q、Z和数字0、1）。")
    field.data = value


def _validate_last4(form: Any, field: Any) -> None:
    value = (field.data or "").replace(" ", "").upper()
    if value and (len(value) != 4 or not (value[:3].isdigit() and (value[3].isdigit()
                                                                    or value[3] == "X"))):
        raise ValidationError("请填写身份证号码的最后4位，例如 002X。")
    field.data = value


class DocumentsForm(Form):
    """Documents sent after submitting, from the status page."""

    document_type = ListedSelectField("资料类型", choices=[], validate_choice=True,
                                invalid_choice_message="请从列表中选择资料类型。")
    files = MultipleFileField("选择文件", render_kw={"accept": ACCEPT},
                              description="PDF、JPG 或 PNG，可以一次选择几个文件；"
                              "手机可以直接拍照。")


class StatusForm(Form):
    reference = StringField(
        "申请编号", filters=[strip],
        validators=[required("请填写申请编号。"), _validate_reference],
        description="在提交申请后的确认页上，例如 ABCD-2345。",
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": 20,
                   "autocapitalize": "characters"})
    last4 = StringField(
        "被保险人身份证号码后四位", filters=[strip],
        validators=[required("请填写身份证号码后四位。"), _validate_last4],
        render_kw={"autocomplete": "off", "maxlength": 8, "inputmode": "text"})
