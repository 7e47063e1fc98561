"""Every setting of the app, read from the environment in one place.

`Config.from_env()` reads each setting below once, with one parser per kind, and stops start-up
with a `ConfigError` naming the setting and the value when a value means nothing (for a yes/no
setting anything but 1/0, true/false, yes/no, on/off, in any case). `TestConfig` is what the
tests start from.

Secrets (SECRET_KEY, DATA_KEY, HASH_KEY) come, in this order, from the environment, from a file
named by `<NAME>_FILE` (as container secrets are mounted), or from `instance/<name>`, generated
once (atomically, so workers starting together agree). Every worker must share all three.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .storage.crypto import new_key

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class ConfigError(ValueError):
    """A setting whose value means nothing: start-up stops with this message."""


def parse_bool(name: str, value: str) -> bool:
    """1/0, true/false, yes/no, on/off in any case; anything else is a ConfigError."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value: use 1/0, true/false, yes/no "
                      "or on/off")


def parse_int(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} may not be negative")
    return number


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type            # bool, int or str
    default: Callable[[Path], Any]
    doc: str


def _const(value: Any) -> Callable[[Path], Any]:
    return lambda _instance: value


# name, kind, default (from the instance folder), what it is for; the README's table
SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", str, lambda i: f"sqlite:///{i / 'forms.db'}", "SQLAlchemy URL"),
    Setting("CONTENT_DIR", str, _const(str(ROOT / "content")), "content folder"),
    Setting("SITE_DIR", str, _const(str(ROOT / "site")), "the built site"),
    Setting("UPLOAD_DIR", str, lambda i: str(i / "uploads"), "encrypted uploads"),
    Setting("AUTO_MIGRATE", bool, _const(True), "apply migrations at start (locked)"),
    Setting("STAFF_CONSOLE", bool, _const(True), "serve the staff console"),
    Setting("PRODUCTION", bool, _const(False), "HSTS and Secure cookies (HTTPS only)"),
    Setting("SESSION_COOKIE_SECURE", bool, _const(False), "Secure session cookie"),
    Setting("TRUSTED_PROXIES", int, _const(0), "reverse proxies in front (X-Forwarded-*)"),
    Setting("UPLOAD_MAX_FILE_BYTES", int, _const(10 * MB), "largest file"),
    Setting("MAX_CONTENT_LENGTH", int, _const(40 * MB), "largest request"),
    Setting("RATELIMIT_STORAGE_URI", str, _const("memory://"),
            "Flask-Limiter storage; redis://... with several workers or hosts"),
    Setting("STATUS_RATE_LIMIT", str, _const("10 per minute; 50 per hour"), "status lookups"),
    Setting("SUBMIT_RATE_LIMIT", str, _const("30 per minute; 300 per hour"), "submissions"),
    Setting("STAFF_LOGIN_RATE_LIMIT", str, _const("30 per minute; 200 per hour"),
            "failed staff sign-ins per client address"),
    Setting("STAFF_ACCOUNT_LOCKOUT", str, _const("5 per 15 minutes; 20 per day"),
            "failed sign-ins per staff account before it must wait"),
    Setting("STAFF_SESSION_LIFETIME", int, _const(8 * 3600), "seconds a staff session lasts"),
    Setting("BENCHMARK_ENDPOINTS", bool, _const(False), "bare endpoint for benchmarks only"),
    Setting("OUTBOX_SENDER", str, _const("log"), "log (not delivered), smtp or aliyun"),
    Setting("PUBLIC_BASE_URL", str, _const(""),
            "public address of the app, for the status link in messages (empty: no link)"),
    Setting("SMTP_HOST", str, _const(""), "SMTP server"),
    Setting("SMTP_PORT", int, _const(587), "SMTP port"),
    Setting("SMTP_STARTTLS", bool, _const(True), "STARTTLS before sign-in"),
    Setting("SMTP_USER", str, _const(""), "SMTP user"),
    Setting("SMTP_PASSWORD", str, _const(""), "SMTP password"),
    Setting("SMTP_FROM", str, _const("noreply@localhost"), "sender address"),
    Setting("SMTP_TO_TEMPLATE", str, _const("{phone}@localhost"),
            "recipient address, e.g. an e-mail-to-SMS gateway"),
    Setting("SMS_ACCESS_KEY_ID", str, _const(""), "Alibaba Cloud SMS AccessKey ID"),
    Setting("SMS_ACCESS_KEY_SECRET", str, _const(""), "Alibaba Cloud SMS AccessKey secret"),
    Setting("SMS_SIGN_NAME", str, _const(""), "approved SMS sign name (签名)"),
    Setting("SMS_TEMPLATE_CODE", str, _const(""),
            "approved SMS template whose text is ${content}"),
    Setting("SMS_ENDPOINT", str, _const("https://dysmsapi.aliyuncs.com"), "SendSms endpoint"),
)
SECRETS: dict[str, Callable[[], str]] = {
    "SECRET_KEY": lambda: secrets.token_hex(32),
    "DATA_KEY": new_key,
    "HASH_KEY": lambda: secrets.token_hex(32),
}

# fixed settings (not read from the environment)
FIXED: dict[str, Any] = {
    "UPLOAD_MAX_FILES_PER_TYPE": 5,
    "MAX_FORM_MEMORY_SIZE": 500 * 1024,
    "MAX_FORM_PARTS": 200,
    # CSRF tokens last as long as the session; an expired one re-shows the form, values kept
    "WTF_CSRF_TIME_LIMIT": 4 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 4 * 3600,
    # no X-RateLimit-*/Retry-After on every answer of a limited view: the app's own pages
    # (429, 503) carry the Retry-After that applies
    "RATELIMIT_HEADERS_ENABLED": False,
    # staff passwords: werkzeug's default (scrypt); TestConfig swaps in a cheap one
    "PASSWORD_HASH_METHOD": "scrypt",
}


def _parse(setting: Setting, value: str) -> Any:
    if setting.kind is bool:
        return parse_bool(setting.name, value)
    if setting.kind is int:
        return parse_int(setting.name, value)
    return value


class Config:
    """The settings of one app, as a mapping for `app.config.from_mapping`."""

    @staticmethod
    def from_env(instance: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        env = os.environ if env is None else env
        values: dict[str, Any] = dict(FIXED)
        for setting in SETTINGS:
            raw = env.get(setting.name)
            values[setting.name] = (_parse(setting, raw) if raw not in (None, "")
                                    else setting.default(instance))
        return values


class TestConfig:
    """What every test app starts from: fixed secrets, an instance of its own, no site."""

    @staticmethod
    def for_folder(folder: Path, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'forms.db'}",
            "UPLOAD_DIR": str(folder / "uploads"),
            "SITE_DIR": str(folder / "no-site"),
            "SECRET_KEY": "test-secret",
            "DATA_KEY": new_key(),
            "HASH_KEY": "test-hash-key",
            "RATELIMIT_ENABLED": True,
            # a test suite signs staff in hundreds of times: 1,000 rounds of PBKDF2 instead of
            # scrypt's 0.2 s of work each time (as Django's test settings do); the stored hash
            # says its method, so checking is the same code. tests/staff/test_access.py checks
            # that a production app stores scrypt hashes
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
        config.update(overrides)
        return config


def finish(config: dict[str, Any], instance: Path, env: Mapping[str, str] | None = None) -> None:
    """Secrets filled in; settings that follow from others (PRODUCTION: Secure cookies)."""
    env = os.environ if env is None else env
    for key, make in SECRETS.items():
        if not config.get(key):
            config[key] = secret_value(key, instance, make, env)
    if config.get("PRODUCTION"):
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def secret_value(name: str, instance: Path, make: Callable[[], str],
                 env: Mapping[str, str]) -> str:
    """NAME from the environment, else the file NAME_FILE names, else instance/<name>."""
    if env.get(name):
        return env[name]
    path_name = env.get(f"{name}_FILE")
    if path_name:
        try:
            value = Path(path_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path_name!r} cannot be read "
                              f"({exc.strerror})") from None
        if not value:
            raise ConfigError(f"{name}_FILE={path_name!r} is empty")
        return value
    return instance_secret(instance, name.lower(), make)


def instance_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """The secret in `instance/<name>`, created once (atomically) if it does not exist."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # fails if another worker won the race: use theirs
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
