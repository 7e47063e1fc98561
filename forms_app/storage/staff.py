"""Staff accounts: sign-in checks, the session version that ends old sessions, creating and
resetting accounts. Passwords are stored as werkzeug hashes only."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import audit
from .database import Database
from .models import AuditLog, StaffUser


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash to compare against when the username does not exist: made with the method real
    accounts use, so an unknown name costs the same work as a wrong password. Made on the first
    such sign-in, not at import (one scrypt in every process that imports the app)."""
    return generate_password_hash("not-a-real-password", method=method)


@dataclass(frozen=True)
class StaffAccount:
    """What a signed-in session knows of its account (no password hash)."""

    user_id: int
    username: str
    session_version: int


def _account(user: StaffUser) -> StaffAccount:
    return StaffAccount(user.id, user.username, user.session_version)


def active_account(db: Database, user_id: int, session_version: int) -> StaffAccount | None:
    """The account if it is active and its sessions of `session_version` are still valid."""
    with db.read_session() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        return _account(user)


def check_credentials(db: Database, username: str, password: str, *,
                      hash_method: str = "scrypt") -> StaffAccount | None:
    """The account whose password this is. `hash_method`: the app's PASSWORD_HASH_METHOD."""
    with db.read_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None or not user.active:
            check_password_hash(_dummy_hash(hash_method), password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return _account(user)


def end_sessions(db: Database, user_id: int) -> None:
    """Every session signed in before now is refused from its next request on."""
    with db.write_session() as s:
        user = s.get(StaffUser, user_id)
        if user is not None:
            user.session_version += 1


class AccountExists(Exception):
    pass


def save_account(db: Database, username: str, password: str, *, reset: bool,
                 actor: str = "cli", supervisor: bool | None = None,
                 hash_method: str = "scrypt") -> str:
    """Create the account, or with `reset` set a new password (which ends its sessions).
    `supervisor`: True/False sets the role (may import the policy roster), None keeps it
    (a new account is not a supervisor). `hash_method`: werkzeug's, from the app's
    PASSWORD_HASH_METHOD. Returns the audit action taken."""
    with db.write_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is not None and not reset:
            raise AccountExists(username)
        if user is None:
            user = StaffUser(username=username,
                             password_hash=generate_password_hash(password, hash_method),
                             active=True, session_version=1, supervisor=False)
            s.add(user)
            action = "staff_created"
        else:
            user.password_hash = generate_password_hash(password, hash_method)
            user.session_version += 1
            user.active = True
            action = "staff_password_reset"
        if supervisor is not None:
            user.supervisor = supervisor
        audit(s, actor, action, None, username=username,
              **({"supervisor": supervisor} if supervisor is not None else {}))
    return action


def is_supervisor(db: Database, user_id: int) -> bool:
    """Whether the (active) account may import the policy roster."""
    with db.read_session() as s:
        user = s.get(StaffUser, user_id)
        return bool(user is not None and user.active and user.supervisor)


@dataclass(frozen=True)
class AccountRow:
    """An account as the supervisors' page lists it (no password hash)."""

    user_id: int
    username: str
    active: bool
    supervisor: bool
    created_at: dt.datetime


def list_accounts(db: Database) -> list[AccountRow]:
    with db.read_session() as s:
        return [AccountRow(u.id, u.username, u.active, u.supervisor, u.created_at)
                for u in s.scalars(select(StaffUser).order_by(StaffUser.username))]


def account_by_id(db: Database, user_id: int) -> AccountRow | None:
    with db.read_session() as s:
        u = s.get(StaffUser, user_id)
        return AccountRow(u.id, u.username, u.active, u.supervisor, u.created_at) if u else None


def set_active(db: Database, user_id: int, active: bool, *, actor: str) -> str | None:
    """Deactivate (every session of the account ends at once) or reactivate an account;
    returns the audit action taken, None when it already was so (or there is no such
    account)."""
    with db.write_session() as s:
        user = s.get(StaffUser, user_id)
        if user is None or user.active == active:
            return None
        user.active = active
        if not active:
            user.session_version += 1
        action = "staff_reactivated" if active else "staff_deactivated"
        audit(s, actor, action, None, username=user.username)
        return action


# what the supervisors' page lists of the audit log (accounts only, never a request)
ACCOUNT_ACTIONS = ("staff_created", "staff_password_reset", "staff_deactivated",
                   "staff_reactivated")


def account_history(db: Database, limit: int = 50) -> list[AuditLog]:
    """The latest account changes, newest first."""
    with db.read_session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action.in_(ACCOUNT_ACTIONS))
                              .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))
