"""Whether a staff password is strong enough: at least 12 characters, not on the denylist, and
rated at least 3 of 4 by zxcvbn (which knows common passwords, names, keyboard walks and
repeats). Pure: no I/O."""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MIN_SCORE = 3
# words anyone attacking this console would try first
DENYLIST = frozenset({
    "4006065033", "400-606-5033", "password1234", "passw0rd1234", "qwertyuiop12",
    "123456789012", "abcdefghijkl", "iloveyou1234", "admin1234567", "staff1234567",
    "greenchannel", "zhiliao12345", "恶性肿瘤患者就医全流程服务",
})


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why the password will not do, in plain English for the operator's terminal; None if
    it is fine."""
    if len(password) < MIN_LENGTH:
        return f"the password needs at least {MIN_LENGTH} characters"
    if password.strip() != password or not password.strip():
        return "the password may not start or end with spaces"
    if password.lower() in DENYLIST:
        return "this password is on the list of passwords attackers try first"
    if username and username.lower() in password.lower():
        return "the password may not contain the username"
    result = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if result["score"] < MIN_SCORE:
        warning = result["feedback"].get("warning") or "it is too easy to guess"
        return f"the password is too weak ({warning.rstrip('.')}); use a longer phrase"
    return None
