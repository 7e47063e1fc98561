"""Security hardening of the request app: response headers, session cookies, rate limits,
encryption-key rotation, and (only when asked for) a bare endpoint for benchmarks.

Hooked into the app by `init_security(app)` in `create_app`.

Headers on every response:
- `Content-Security-Policy`: no inline script anywhere. App pages (forms, status, staff, API)
  get `script-src 'self'`; pages of the built MkDocs site additionally allow the hashes of the
  theme's few inline scripts, read from `SITE_DIR/csp-hashes.json` (written by the site build).
  `frame-ancestors 'none'`, `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`
  (for old browsers), `Permissions-Policy` (no camera, microphone, geolocation),
  `Cross-Origin-Opener-Policy: same-origin`;
- app pages that are not the public site get `Cache-Control: no-store` unless a view set its
  own (pages showing a request must not sit in a shared or back-button cache);
- `Strict-Transport-Security` only in production (`PRODUCTION=1`), which also forces secure
  session and remember cookies.

Rate limits (Flask-Limiter, one `limiter` in `extensions.py`): submit and status lookup are
limited by their views (`SUBMIT_RATE_LIMIT`, `STATUS_RATE_LIMIT`); staff sign-in by
`STAFF_LOGIN_RATE_LIMIT`, applied here to the staff blueprint's login view if that view has no
limit of its own. With several workers or hosts set `RATELIMIT_STORAGE_URI=redis://...`:
`memory://` counts per process. Behind a load balancer set `TRUSTED_PROXIES` (the number of
proxies in front of the app) so limits count per client, not per balancer.

Key rotation is `flask --app forms_app rotate-keys` (in `cli.py`); see the README.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_limiter.util import get_qualified_name
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

# Flask-Limiter limit on staff sign-in POSTs, per client address
DEFAULT_STAFF_LOGIN_LIMIT = "10 per minute; 50 per hour"
BENCH_PATH = "/_bench/echo"

_BASE_CSP: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'"],
    "manifest-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def build_csp(script_hashes: list[str] | None = None, inline_styles: bool = False) -> str:
    """A Content-Security-Policy value; `script_hashes` are `'sha256-...'` sources."""
    directives = {k: list(v) for k, v in _BASE_CSP.items()}
    if script_hashes:
        directives["script-src"] += script_hashes
    if inline_styles:
        directives["style-src"].append("'unsafe-inline'")
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


def site_script_hashes(site_dir: Path) -> list[str]:
    """Hashes of the built site's inline scripts (`csp-hashes.json`), [] when there is none."""
    path = Path(site_dir) / "csp-hashes.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    hashes = data.get("script-src", []) if isinstance(data, dict) else []
    return [h for h in hashes if isinstance(h, str) and h.startswith("'sha256-")
            and h.endswith("'") and " " not in h and ";" not in h]


@dataclass(frozen=True)
class SecurityPolicy:
    app_csp: str
    site_csp: str
    production: bool
    hsts: str


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes")


def init_security(app: Flask) -> None:
    """Headers, cookie flags, the staff sign-in limit, and (opt-in) bench endpoints."""
    production = bool(app.config.get("PRODUCTION", _env_flag("PRODUCTION")))
    app.config["PRODUCTION"] = production
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config.setdefault("STAFF_LOGIN_RATE_LIMIT",
                          os.environ.get("STAFF_LOGIN_RATE_LIMIT", DEFAULT_STAFF_LOGIN_LIMIT))
    # behind N reverse proxies / load balancers: the client address (rate limits) and the
    # scheme come from their X-Forwarded-* headers; 0 (the default) ignores those headers,
    # which a client could otherwise forge to escape the limits
    proxies = int(app.config.get("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", 0)))
    app.config["TRUSTED_PROXIES"] = proxies
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,  # type: ignore
                                x_host=0, x_port=0, x_prefix=0)

    # the site's inline scripts allowed by hash; the site is served with inline styles
    # (the theme sets style attributes), app pages with neither
    hashes = site_script_hashes(Path(app.config.get("SITE_DIR", "site")))
    policy = SecurityPolicy(
        app_csp=build_csp(),
        site_csp=build_csp(hashes, inline_styles=True),
        production=production,
        hsts="max-age=31536000; includeSubDomains",
    )
    app.extensions["forms_security"] = policy
    app.after_request(_add_headers)

    # after every blueprint is registered (create_app registers them after this call)
    app.before_request(_limit_staff_login_once)
    app.register_error_handler(OperationalError, _database_unavailable)
    if app.config.get("BENCHMARK_ENDPOINTS", _env_flag("BENCHMARK_ENDPOINTS")):
        _register_bench(app)


# -- headers ------------------------------------------------------------------------------
def _is_site_response(response: Response) -> bool:
    """A page of the built site; 404 pages too (the error handler answers with the site's
    404.html, which carries the theme's inline scripts)."""
    return request.blueprint == "site" or response.status_code == 404


def _add_headers(response: Response) -> Response:
    policy: SecurityPolicy = current_app.extensions["forms_security"]
    site = _is_site_response(response)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy.site_csp if site else policy.app_csp)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not site and request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    if policy.production:
        headers.setdefault("Strict-Transport-Security", policy.hsts)
    return response


# -- database busy or unreachable -------------------------------------------------------------
BUSY_TITLE = "系统繁忙，请稍后再试"
BUSY_MESSAGE = ("系统暂时繁忙，这次操作没有完成。如果您在提交申请，请返回上一页，"
                "稍等片刻后再提交一次：同一份申请重复提交也只会登记一次。也可以致电服务热线。")


def _database_unavailable(exc: OperationalError) -> Any:
    """SQLite busy past its timeout, or PostgreSQL unreachable: 503 with Retry-After and a
    plain page, never a 500. Only the error's class is logged (its text can hold SQL values)."""
    log.warning("database unavailable (%s) on %s %s", type(exc.orig).__name__,
                request.method, request.endpoint)
    headers = {"Retry-After": "10"}
    if request.path.startswith("/api/"):
        return {"error": BUSY_MESSAGE}, 503, headers
    return render_template("error.html", status=503, title=BUSY_TITLE,
                           message=BUSY_MESSAGE), 503, headers


# -- staff sign-in limit ----------------------------------------------------------------------
def _staff_login_limit() -> str:
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


def _limit_staff_login_once() -> None:
    """Wrap the staff login view with the limiter, once, unless it already has a limit."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("forms_staff_limit_done"):
        return
    app.extensions["forms_staff_limit_done"] = True
    apply_staff_login_limit(app)


_WRAPPED_BY_US: set[str] = set()


def staff_login_endpoint(app: Flask) -> str | None:
    for endpoint in ("staff.login", "staff.sign_in", "staff.signin"):
        if endpoint in app.view_functions:
            return endpoint
    return None


def apply_staff_login_limit(app: Flask) -> bool:
    """Limit POSTs to the staff login view by `STAFF_LOGIN_RATE_LIMIT`; False if there is no
    login view or it already carries a limit (set by the staff console itself)."""
    from .extensions import limiter

    endpoint = staff_login_endpoint(app)
    if endpoint is None:
        return False
    view = app.view_functions[endpoint]
    name = get_qualified_name(view)
    if hasattr(view, "__wrapper-limiter-instance"):
        return False  # this app's view is already wrapped (by us or by the console)
    if name in getattr(limiter, "_marked_for_limiting", ()) and name not in _WRAPPED_BY_US:
        return False  # the console decorated it with a limit of its own
    app.view_functions[endpoint] = limiter.limit(_staff_login_limit, methods=["POST"])(view)
    _WRAPPED_BY_US.add(name)
    return True


# -- benchmark reference endpoint -------------------------------------------------------------
def _register_bench(app: Flask) -> None:
    """`POST /_bench/echo`: parses the same multipart body as a submission (form fields and
    files read in full) and answers with a tiny page. Only with BENCHMARK_ENDPOINTS=1."""
    from .extensions import csrf

    def bench_echo() -> Response:
        size = sum(len(v) for _k, v in request.form.items(multi=True))
        for _k, storage in request.files.items(multi=True):
            size += len(storage.read())
        return Response(f"ok {size}\n", mimetype="text/plain")

    app.add_url_rule(BENCH_PATH, "bench_echo", bench_echo, methods=["POST"])
    csrf.exempt(bench_echo)
    log.warning("benchmark endpoint %s is enabled (BENCHMARK_ENDPOINTS=1)", BENCH_PATH)
