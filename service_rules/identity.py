"""Resident ID numbers, mainland mobile numbers, masking and reference numbers. Pure functions."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from .deadlines import shanghai_today

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalise_id_number(value: str) -> str:
    """Spaces removed, lower-case x upper-cased; full-width digits made ASCII."""
    value = value.translate(_FULLWIDTH).strip().replace(" ", "").replace("\u3000", "")
    return value.upper()


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str, today: dt.date | None = None) -> str | None:
    """Why `value` (normalised) is not a valid 18-character resident ID number, or None."""
    if not value:
        return "请填写身份证号码。"
    if len(value) != 18:
        return f"身份证号码应为18位，您填写了{len(value)}位。"
    if not _ID_RE.match(value):
        return "身份证号码前17位应为数字，最后一位为数字或字母X。"
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号码中的出生日期不存在，请核对第7到14位。"
    if birth.year < 1900 or birth > (today or shanghai_today()):
        return "身份证号码中的出生日期不正确，请核对第7到14位。"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号码的最后一位（校验码）与前17位不符，请逐位核对。"
    return None


def mask_id_number(value: str) -> str:
    """110105********002X: first 6 and last 4 characters shown."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


_FULLWIDTH = str.maketrans("０１２３４５６７８９ｘＸ＋－", "0123456789xX+-")


def normalise_mobile(value: str) -> str:
    """Spaces, hyphens and a +86 / 0086 / 86 prefix removed."""
    value = value.translate(_FULLWIDTH)
    value = re.sub(r"[\s\-()（）]", "", value)
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    else:
        if len(value) == 13 and value.startswith("86"):
            value = value[2:]
    return value


def mobile_problem(value: str) -> str | None:
    """Why `value` (normalised) is not a mainland mobile number, or None."""
    if not value:
        return "请填写手机号码。"
    if not value.isdigit():
        return "手机号码只能包含数字，例如 138 0013 8000。"
    if len(value) != 11:
        return f"手机号码应为11位数字，您填写了{len(value)}位。"
    if not _MOBILE_RE.match(value):
        return "这不像中国大陆的手机号码（应以13到19开头）。"
    return None


def mask_mobile(value: str) -> str:
    """138****8000."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# -- reference numbers -----------------------------------------------------------------------
# No I, O, Q, Z (look like 1, 0, 0/O, 2) and no 0, 1: easy to read aloud on the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPRSTUVWXY"
REFERENCE_LENGTH = 8


def new_reference() -> str:
    """8 random characters (about 39 bits), stored without the hyphen."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def format_reference(ref: str) -> str:
    """ABCD2345 -> ABCD-2345."""
    return f"{ref[:4]}-{ref[4:]}" if len(ref) == REFERENCE_LENGTH else ref


def normalise_reference(value: str) -> str:
    """What a person types (spaces, hyphens, lower case, O for 0...) -> stored form or ''."""
    value = value.translate(_FULLWIDTH).upper()
    value = re.sub(r"[\s\-－—_]", "", value)
    return value
