"""Staff accounts in the console (/staff/accounts, supervisors only): list, create (password
checked by `service_rules.passwords`), deactivate and reactivate, reset a password. Resetting
or deactivating ends every session of that account at once (its session version moves on).
Every change is audited by `storage.staff`, the same functions `create-staff` uses."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from service_rules.passwords import password_problem_zh

from ..extensions import csrf
from ..storage import get_db
from ..storage.staff import (
    AccountExists,
    account_by_id,
    account_history,
    is_supervisor,
    list_accounts,
    save_account,
    set_active,
)
from . import bp
from .casework_forms import AccountForm, ResetForm, refused_status
from .forms import PlainForm
from .views import actor


def reset_prefix(user_id: int) -> str:
    return f"reset-{user_id}"


def _allowed() -> bool:
    return is_supervisor(get_db(), current_user.user_id)


def _refused() -> Any:
    return render_template("staff/accounts.html", allowed=False), 403


def _page(*, status: int = 200, create: AccountForm | None = None,
          reset: tuple[int, ResetForm] | None = None) -> Any:
    accounts = list_accounts(get_db())
    resets = {a.user_id: reset[1] if reset and reset[0] == a.user_id
              else ResetForm(prefix=reset_prefix(a.user_id), formdata=None) for a in accounts}
    return render_template(
        "staff/accounts.html", allowed=True, accounts=accounts,
        create_form=create or AccountForm(formdata=None), reset_forms=resets,
        reset_open=reset[0] if reset else None, plain_form=PlainForm(formdata=None),
        history=account_history(get_db()), me=current_user.user_id), status


def _back() -> Any:
    return redirect(url_for("staff.accounts"), 303)


@bp.get("/accounts")
def accounts() -> Any:
    if not _allowed():
        return _refused()
    return _page()


@bp.post("/accounts")
@csrf.exempt  # checked by form.validate(): an expired page keeps the username typed
def create_account() -> Any:
    if not _allowed():
        return _refused()
    form = AccountForm()
    valid = form.validate()
    username = (form.username.data or "").strip()
    if valid:
        problem = password_problem_zh(form.password.data, username=username)
        if problem:
            form.password.errors = [problem]
            valid = False
    if not valid:
        form.password.data = ""  # a password is never sent back to the browser
        return _page(status=refused_status(form, form.username), create=form)
    try:
        save_account(get_db(), username, form.password.data, reset=False, actor=actor(),
                     supervisor=bool(form.supervisor.data),
                     hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    except AccountExists:
        form.username.errors = ["这个用户名已经有人使用，请换一个。"]
        form.password.data = ""
        return _page(status=409, create=form)
    flash(f"已创建账号 {username}" + ("（主管）" if form.supervisor.data else "")
          + "。请把初始密码当面或电话告诉本人。")
    return _back()


@bp.post("/accounts/<int:user_id>/active")
def set_account_active(user_id: int) -> Any:
    if not _allowed():
        return _refused()
    form = PlainForm()
    account = account_by_id(get_db(), user_id)
    if account is None or not form.validate():
        flash("没有找到这个账号，请刷新页面后再试。")
        return _back()
    if account.user_id == current_user.user_id:
        flash("不能停用自己正在使用的账号。")
        return _back()
    done = set_active(get_db(), user_id, not account.active, actor=actor())
    if done == "staff_deactivated":
        flash(f"已停用账号 {account.username}，它在所有设备上的登录已失效。")
    elif done == "staff_reactivated":
        flash(f"已重新启用账号 {account.username}。")
    return _back()


@bp.post("/accounts/<int:user_id>/password")
@csrf.exempt  # checked by form.validate(), like creating an account
def reset_password(user_id: int) -> Any:
    if not _allowed():
        return _refused()
    account = account_by_id(get_db(), user_id)
    if account is None:
        flash("没有找到这个账号，请刷新页面后再试。")
        return _back()
    form = ResetForm(prefix=reset_prefix(user_id))
    valid = form.validate()
    if valid:
        problem = password_problem_zh(form.password.data, username=account.username)
        if problem:
            form.password.errors = [problem]
            valid = False
    if not valid:
        form.password.data = ""
        return _page(status=refused_status(form, form.password), reset=(user_id, form))
    # the CLI's reset: a new hash, the session version moved on (every session ends), and
    # the account active again
    save_account(get_db(), account.username, form.password.data, reset=True, actor=actor(),
                 hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    if account.user_id == current_user.user_id:
        flash("您的密码已重设，请用新密码重新登录。")
        return redirect(url_for("staff.login"), 303)
    flash(f"已重设 {account.username} 的密码，它在所有设备上的登录已失效。")
    return _back()
