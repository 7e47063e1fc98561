"""Response headers and cookie flags, the busy page, and (only when asked for) a bare endpoint
for benchmarks.

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
- `Strict-Transport-Security` only in production (`PRODUCTION=1`).

Behind a load balancer set `TRUSTED_PROXIES` (the number of proxies in front of the app) so rate
limits count per client, not per balancer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

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


def init_app(app: Flask) -> None:
    """Headers, proxies, the busy page, and (opt-in) the benchmark endpoint."""
    # behind N reverse proxies / load balancers: the client address (rate limits) and the
    # scheme come from their X-Forwarded-* headers; 0 (the default) ignores those headers,
    # which a client could otherwise forge to escape the limits
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,  # type: ignore
                                x_host=0, x_port=0, x_prefix=0)

    # the site's inline scripts allowed by hash; the site is served with inline styles
    # (the theme sets style attributes), app pages with neither
    hashes = site_script_hashes(Path(app.config["SITE_DIR"]))
    app.extensions["forms_security"] = SecurityPolicy(
        app_csp=build_csp(),
        site_csp=build_csp(hashes, inline_styles=True),
        production=bool(app.config["PRODUCTION"]),
        hsts="max-age=31536000; includeSubDomains",
    )
    app.after_request(_add_headers)
    if app.config["BENCHMARK_ENDPOINTS"]:
        _register_bench(app)


# -- headers ------------------------------------------------------------------------------
def common_headers(policy: SecurityPolicy, *, site: bool) -> dict[str, str]:
    """The security headers of every answer: the site's CSP for the built site's pages (its
    inline scripts allowed by hash), the app's stricter one for everything else."""
    headers = {
        "Content-Security-Policy": policy.site_csp if site else policy.app_csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if policy.production:
        headers["Strict-Transport-Security"] = policy.hsts
    return headers


def mark_site_page() -> None:
    """The response being built is a page of the built site (e.g. its 404 page)."""
    g.site_page = True


def _add_headers(response: Response) -> Response:
    policy: SecurityPolicy = current_app.extensions["forms_security"]
    site = bool(g.get("site_page"))
    for name, value in common_headers(policy, site=site).items():
        response.headers.setdefault(name, value)
    if not site and request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


# -- benchmark reference endpoint -------------------------------------------------------------
def _register_bench(app: Flask) -> None:
    """`POST /_bench/echo`: parses the same multipart body as a submission (form fields and
    files read in full) and answers with a tiny page. Only with BENCHMARK_ENDPOINTS=1."""
    from ..extensions import csrf

    def bench_echo() -> Response:
        size = sum(len(v) for _k, v in request.form.items(multi=True))
        for _k, storage in request.files.items(multi=True):
            size += len(storage.read())
        return Response(f"ok {size}\n", mimetype="text/plain")

    app.add_url_rule(BENCH_PATH, "bench_echo", bench_echo, methods=["POST"])
    csrf.exempt(bench_echo)
    log.warning("benchmark endpoint %s is enabled (BENCHMARK_ENDPOINTS=1)", BENCH_PATH)
