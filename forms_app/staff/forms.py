"""Forms of the staff console (Flask-WTF, CSRF on every POST)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from wtforms import DateField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from service_rules.workflow import EVENT_FIELDS, REQUIRED_FIELDS

from ..web.forms import Form
from ..web.widgets import ListedSelectField

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
TOO_LONG = "内容太长了，最多%(max)d个字。"


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class SearchForm(Form):
    # one field for a reference, the insured's name or a phone (named `reference` as before)
    reference = StringField("按申请编号、姓名或手机号码查找", validators=[Length(max=40)],
                            render_kw={"autocomplete": "off"})


class RevealForm(Form):
    field = HiddenField(default="id_number")


class PlainForm(Form):
    """A form with only its CSRF token (logout)."""


class EventForm(Form):
    """One event: its date and the details it needs. Fields an event does not use are hidden by
    the template (`fields_for`) and ignored by `event_problems`."""

    event_date = DateField("发生日期", validators=[DataRequired("请填写日期（年-月-日）。")])
    hospital_id = ListedSelectField("医院", choices=[], validate_choice=False,
                                    validators=[Optional()])
    appointment_date = DateField("就诊日期", validators=[Optional()])
    appointment_time = StringField("就诊时间", validators=[Optional(), Length(max=5)],
                                   render_kw={"placeholder": "09:30", "inputmode": "numeric"})
    sample_type = ListedSelectField("样本类型", choices=[], validate_choice=False,
                              validators=[Optional()])
    # arrangement details the applicant reads on the status page and in the message
    department = StringField("科室", validators=[Optional(), Length(max=50, message=TOO_LONG)])
    address = StringField("就诊地址", validators=[Optional(), Length(max=200, message=TOO_LONG)],
                          description="不填时，申请人看到医院名单里登记的地址（如有）。")
    bring = TextAreaField("需要带齐的资料",
                          validators=[Optional(), Length(max=300, message=TOO_LONG)],
                          description="例如：身份证、医保卡、近期的病理报告和影像片子。")
    sample_address = StringField("样本寄送地址",
                                 validators=[Optional(), Length(max=200, message=TOO_LONG)])
    sample_recipient = StringField("收件人（实验室或联系人）",
                                   validators=[Optional(), Length(max=100, message=TOO_LONG)])
    sample_include = TextAreaField("随样本附上",
                                   validators=[Optional(), Length(max=300, message=TOO_LONG)],
                                   description="例如：填好的送检单、病理报告复印件。")
    sign_and_hand_over = TextAreaField(
        "出院时签署和交付", validators=[Optional(), Length(max=300, message=TOO_LONG)],
        description="例如：入院时签署直付/理赔授权书；出院时把住院发票、出院小结交给直付服务人员。")
    reason = TextAreaField("原因", validators=[Optional(), Length(max=500)])
    message = TextAreaField("需要补充的资料", validators=[Optional(), Length(max=500)],
                            description="申请人会在进度页面和短信里看到这段话，"
                            "例如：请补充最近一次的CT报告和出院小结。")
    note = TextAreaField("备注", validators=[Optional(), Length(max=1000)],
                         description="只写办理需要的内容，不写身份证号码或手机号码。")


FIELD_LABELS = {
    "hospital_id": "医院", "appointment_date": "就诊日期", "appointment_time": "就诊时间",
    "sample_type": "样本类型", "reason": "原因", "message": "需要补充的资料",
    "department": "科室", "address": "就诊地址", "bring": "需要带齐的资料",
    "sample_address": "样本寄送地址", "sample_recipient": "收件人",
    "sample_include": "随样本附上", "sign_and_hand_over": "出院时签署和交付",
}


def fields_for(event_id: str) -> tuple[str, ...]:
    return EVENT_FIELDS.get(event_id, ())


def event_problems(event_id: str, data: dict[str, Any], *, today: dt.date,
                   request_date: dt.date, hospital_ids: set[str],
                   sample_ids: set[str]) -> dict[str, str]:
    """{field: message} for an event's values; empty when they are fine. Pure."""
    problems: dict[str, str] = {}
    day = data.get("event_date")
    if isinstance(day, dt.date):
        if day > today:
            problems["event_date"] = (f"日期不能晚于今天（{today.isoformat()}）："
                                      "请在事情发生后再记录。")
        elif day < request_date:
            problems["event_date"] = f"日期不能早于提交申请的日期（{request_date.isoformat()}）。"
    for name in REQUIRED_FIELDS.get(event_id, ()):
        if not data.get(name):
            problems[name] = f"请填写{FIELD_LABELS[name]}。"
    if "hospital_id" in fields_for(event_id) and data.get("hospital_id") \
            and data["hospital_id"] not in hospital_ids:
        problems["hospital_id"] = "请从列表中选择医院。"
    if "sample_type" in fields_for(event_id) and data.get("sample_type") \
            and data["sample_type"] not in sample_ids:
        problems["sample_type"] = "请从列表中选择样本类型。"
    when = data.get("appointment_time")
    if "appointment_time" in fields_for(event_id) and when and not TIME_RE.match(when):
        problems["appointment_time"] = "时间请按 时:分 填写，例如 09:30。"
    appt = data.get("appointment_date")
    if isinstance(appt, dt.date) and isinstance(day, dt.date) and appt < day:
        problems["appointment_date"] = "就诊日期不能早于预约的日期。"
    return problems


def event_details(event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON stored with an event: the fields this event uses, and the note."""
    details: dict[str, Any] = {}
    for name in fields_for(event_id):
        value = data.get(name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        if value:
            details[name] = value.strip() if isinstance(value, str) else value
    if data.get("note"):
        details["note"] = data["note"].strip()
    return details
