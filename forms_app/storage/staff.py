"""Staff accounts: sign-in checks, the session version that ends old sessions, creating and
resetting accounts. Passwords are stored as werkzeug hashes only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import audit
from .database import Database
from .models import StaffUser

# a hash to compare against when the username does not exist (same work either way)
_DUMMY_HASH = generate_password_hash("not-a-real-password")


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


def check_credentials(db: Database, username: str, password: str) -> StaffAccount | None:
    with db.read_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None or not user.active:
            check_password_hash(_DUMMY_HASH, password)
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
                 actor: str = "cli", supervisor: bool | None = None) -> str:
    """Create the account, or with `reset` set a new password (which ends its sessions).
    `supervisor`: True/False sets the role (may import the policy roster), None keeps it
    (a new account is not a supervisor). Returns the audit action taken."""
    with db.write_session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is not None and not reset:
            raise AccountExists(username)
        if user is None:
            user = StaffUser(username=username, password_hash=generate_password_hash(password),
                             active=True, session_version=1, supervisor=False)
            s.add(user)
            action = "staff_created"
        else:
            user.password_hash = generate_password_hash(password)
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
