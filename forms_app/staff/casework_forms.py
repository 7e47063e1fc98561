"""Forms of staff working together: internal notes, undoing an event, reopening a request,
and the supervisors' account management (Flask-WTF, CSRF on every POST)."""

from __future__ import annotations

from wtforms import BooleanField, Field, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from ..storage.notes import NOTE_MAX
from ..web.forms import Form
from .cli import USERNAME_RE

REASON_MAX = 500
# the views check the CSRF token through the form (not before the view), so an expired page
# shows the form again with what was typed and this at its field
EXPIRED = "页面停留时间较长，为了安全请再提交一次；您填写的内容还在。"


def expired(form: Form) -> bool:
    token = getattr(form, "csrf_token", None)
    return token is not None and bool(token.errors)


def refused_status(form: Form, field: Field) -> int:
    """400 for an expired page (its message put at `field`), else 422."""
    if expired(form):
        field.errors = [*field.errors, EXPIRED]
        return 400
    return 422


class NoteForm(Form):
    text = TextAreaField(
        "写一条备注",
        validators=[DataRequired("请填写备注内容。"),
                    Length(max=NOTE_MAX, message=f"备注最多 {NOTE_MAX} 个字。")],
        description="只有服务人员能看到，不会显示在申请人的进度页面或短信里；"
        "申请人下载个人信息副本时可以看到。只写办理需要的内容，不写身份证号码或手机号码。")


class UndoForm(Form):
    reason = TextAreaField(
        "撤销原因", validators=[DataRequired("请填写撤销的原因。"),
                            Length(max=REASON_MAX, message=f"原因最多 {REASON_MAX} 个字。")],
        description="例如：日期记错了，实际是下周一。撤销后这条进展保留在记录里，"
        "但不再计入承诺和状态。")


class ReopenForm(Form):
    reason = TextAreaField(
        "重新打开的原因", validators=[DataRequired("请填写重新打开的原因。"),
                                Length(max=REASON_MAX,
                                       message=f"原因最多 {REASON_MAX} 个字。")],
        description="重新打开后，结束这个申请的那条进展会被撤销，申请恢复为处理中，"
        "申请人的进度页面也会显示为处理中。")


class AccountForm(Form):
    username = StringField(
        "用户名", validators=[DataRequired("请填写用户名。"),
                           Regexp(USERNAME_RE, message="用户名请用 2 到 64 个英文字母、数字、"
                                  "点、下划线或连字符，例如 wang.fang。")],
        render_kw={"autocomplete": "off", "autocapitalize": "none"})
    password = PasswordField(
        "初始密码", validators=[DataRequired("请填写初始密码。"), Length(max=256)],
        description="至少 12 个字符，不要用常见的词或顺序；请当面或电话告诉本人。",
        render_kw={"autocomplete": "new-password"})
    supervisor = BooleanField("主管（可以导入保单名册、查看查阅记录、管理账号）")


class ResetForm(Form):
    password = PasswordField(
        "新密码", validators=[DataRequired("请填写新密码。"), Length(max=256)],
        description="重设后，这个账号在所有设备上的登录都会立即失效。",
        render_kw={"autocomplete": "new-password"})
