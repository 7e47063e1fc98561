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


def _problem(password: str, username: str) -> tuple[str, str] | None:
    """(kind, zxcvbn's warning) of what is wrong with the password, None if it is fine."""
    if len(password) < MIN_LENGTH:
        return "short", ""
    if password.strip() != password or not password.strip():
        return "spaces", ""
    if password.lower() in DENYLIST:
        return "denylist", ""
    if username and username.lower() in password.lower():
        return "username", ""
    result = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if result["score"] < MIN_SCORE:
        return "weak", result["feedback"].get("warning") or ""
    return None


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why the password will not do, in plain English for the operator's terminal; None if
    it is fine."""
    found = _problem(password, username)
    if found is None:
        return None
    kind, warning = found
    if kind == "weak":
        warning = warning or "it is too easy to guess"
        return f"the password is too weak ({warning.rstrip('.')}); use a longer phrase"
    return {
        "short": f"the password needs at least {MIN_LENGTH} characters",
        "spaces": "the password may not start or end with spaces",
        "denylist": "this password is on the list of passwords attackers try first",
        "username": "the password may not contain the username",
    }[kind]


def password_problem_zh(password: str, *, username: str = "") -> str | None:
    """The same checks, said in Chinese at the console's password field; None if fine."""
    found = _problem(password, username)
    if found is None:
        return None
    return {
        "short": f"密码至少需要 {MIN_LENGTH} 个字符。",
        "spaces": "密码的开头和结尾不能是空格。",
        "denylist": "这个密码是最常被猜到的密码之一，请换一个。",
        "username": "密码里不能包含用户名。",
        "weak": "这个密码太容易被猜到，请用一句更长、不常见的话作密码。",
    }[found[0]]
