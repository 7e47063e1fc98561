"""Staff sign-in with Flask-Login: werkzeug password hashes, expiring sessions, every staff
view behind it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from ..extensions import limiter
from ..storage import audit, get_db
from ..storage.staff import active_account, check_credentials, end_sessions
from . import bp
from .forms import LoginForm

LOGIN_AT_KEY = "staff_login_at"
PUBLIC_ENDPOINTS = frozenset({"staff.login", "staff.static"})

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "basic"


@dataclass(frozen=True)
class StaffIdentity(UserMixin):
    """The signed-in staff member (what Flask-Login keeps; no password hash)."""

    user_id: int
    username: str
    session_version: int

    def get_id(self) -> str:
        # the version makes sessions from before a password change invalid
        return f"{self.user_id}:{self.session_version}"


@login_manager.user_loader
def _load_user(value: str) -> StaffIdentity | None:
    try:
        user_id, version = (int(x) for x in value.split(":", 1))
    except ValueError:
        return None
    account = active_account(get_db(), user_id, version)
    if account is None:
        return None
    return StaffIdentity(account.user_id, account.username, account.session_version)


def session_seconds() -> int:
    value = current_app.config["STAFF_SESSION_LIFETIME"]
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value)


@bp.before_request
def require_staff() -> Any:
    """Every staff view but sign-in needs a signed-in staff member whose session is fresh."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    signed_in_at = session.get(LOGIN_AT_KEY)
    if not isinstance(signed_in_at, (int, float)) or \
            time.time() - signed_in_at > session_seconds():
        logout_user()
        session.pop(LOGIN_AT_KEY, None)
        flash("登录已超时，请重新登录。")
        return redirect(url_for("staff.login", next=_safe_next(request.full_path)))
    return None


def _safe_next(target: str | None) -> str | None:
    """Only paths inside the console: never another host, never a scheme-relative URL."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff/") \
            or target.startswith("//") or "\\" in target \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    return target.rstrip("?")


def _address_limit() -> str:
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["STAFF_ACCOUNT_LOCKOUT"]


def _account_key() -> str:
    """The account a sign-in is for (as typed, normalised), so failures count per account in
    the shared limiter storage, whichever worker or address they come from."""
    name = (request.form.get("username") or "").strip().lower()[:64]
    return f"staff-account:{name}"


def _failed(response: Any) -> bool:
    """Only failed sign-ins count: a colleague behind the same address who signs in correctly
    is never held back by someone else's guesses."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login() -> Any:
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        account = check_credentials(get_db(), form.username.data.strip(), form.password.data,
                                    hash_method=current_app.config["PASSWORD_HASH_METHOD"])
        if account is not None:
            session.clear()
            session.permanent = True
            login_user(StaffIdentity(account.user_id, account.username,
                                     account.session_version))
            session[LOGIN_AT_KEY] = time.time()
            audit.record(get_db(), account.username, "staff_signed_in")
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.queue"))
        failed = True
    status = 401 if failed else (422 if form.errors else 200)
    return render_template("staff/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout() -> Any:
    username, user_id = current_user.username, current_user.user_id
    logout_user()
    session.clear()
    # every session of the account ends, on every device (a copied cookie included)
    end_sessions(get_db(), user_id)
    audit.record(get_db(), username, "staff_signed_out")
    flash("您已退出登录。")
    return redirect(url_for("staff.login"))
