"""Staff sign-in with Flask-Login: werkzeug password hashes, expiring sessions, every staff
view behind it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import get_db
from ..models import AuditLog, StaffUser
from . import bp
from .forms import LoginForm

DEFAULT_SESSION_SECONDS = 8 * 3600
LOGIN_AT_KEY = "staff_login_at"
PUBLIC_ENDPOINTS = frozenset({"staff.login", "staff.static"})
# a hash to compare against when the username does not exist (same work either way)
_DUMMY_HASH = generate_password_hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 12

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
    with get_db().read_session() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return StaffIdentity(user.id, user.username, user.session_version)


def init_login(app: Flask) -> None:
    app.config.setdefault("STAFF_SESSION_LIFETIME", DEFAULT_SESSION_SECONDS)
    login_manager.init_app(app)


def session_seconds() -> int:
    value = current_app.config.get("STAFF_SESSION_LIFETIME", DEFAULT_SESSION_SECONDS)
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
            or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?")


def check_credentials(username: str, password: str) -> StaffIdentity | None:
    with get_db().read_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None or not user.active:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return StaffIdentity(user.id, user.username, user.session_version)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        who = check_credentials(form.username.data.strip(), form.password.data)
        if who is not None:
            session.clear()
            session.permanent = True
            login_user(who)
            session[LOGIN_AT_KEY] = time.time()
            with get_db().write_session() as s:
                s.add(AuditLog(actor=who.username, action="staff_signed_in", request_id=None,
                               details={}))
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.queue"))
        failed = True
    status = 401 if failed else (422 if form.errors else 200)
    return render_template("staff/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout() -> Any:
    username = current_user.username
    logout_user()
    session.clear()
    with get_db().write_session() as s:
        s.add(AuditLog(actor=username, action="staff_signed_out", request_id=None, details={}))
    flash("您已退出登录。")
    return redirect(url_for("staff.login"))


def hash_password(password: str) -> str:
    return generate_password_hash(password)
