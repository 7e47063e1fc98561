"""The Flask extensions every part of the app shares: CSRF protection and the rate limiter.

Rate-limit counters live in `RATELIMIT_STORAGE_URI` (`memory://` by default: per process; use
`redis://...` when there are several workers or hosts so they share the counters).
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(get_remote_address)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
