"""A static server for a built site, for benchmarks: WhiteNoise around a 404 WSGI app.

WhiteNoise serves `name.br` / `name.gz` in place of `name` to a client that accepts them,
index.html for a folder URL, and caches a file for a year as immutable when its name carries
a content hash (the build's contract: `build_scripts.assets.IMMUTABLE_NAME`); everything else
is revalidated (max-age=0). Run it with a production WSGI server, e.g.

    SITE_ROOT=site gunicorn --chdir benchmarks -b 127.0.0.1:8001 'static_site:app()'

Both sites of a benchmark are served this way, so they differ only in what their build wrote.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from whitenoise import WhiteNoise

# the same rule as build_scripts.assets.IMMUTABLE_NAME (kept here so gunicorn's --chdir
# does not need the project on sys.path)
IMMUTABLE_NAME = re.compile(r"\.[0-9a-f]{8,}(\.min)?\.(js|css)$")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def not_found(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    body = b"404 Not Found\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def immutable(path: str, url: str) -> bool:
    return bool(IMMUTABLE_NAME.search(url))


# The policy the request app sends with the site's pages (forms_app's site CSP), so a page
# that a CSP would break shows it in the benchmark (Lighthouse counts console errors).
CSP_BASE = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
            "manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def site_csp(root: str) -> str | None:
    """The CSP for a site whose build wrote csp-hashes.json; None for one that did not."""
    path = Path(root) / "csp-hashes.json"
    if not path.is_file():
        return None
    hashes = json.loads(path.read_text(encoding="utf-8")).get("script-src", [])
    return CSP_BASE.format(hashes="".join(" " + h for h in hashes))


def with_headers(inner: Callable[..., Iterable[bytes]],
                 headers: list[tuple[str, str]]) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, response_headers: list, exc_info: object = None) -> Any:
            return start_response(status, response_headers + headers, exc_info)
        return inner(environ, start)
    return wrapped


def app(root: str | None = None) -> Callable[..., Iterable[bytes]]:
    """The WSGI app serving `root` (default: $SITE_ROOT), with the site's CSP if it has one."""
    root = root or os.environ["SITE_ROOT"]
    served = WhiteNoise(not_found, root=root, index_file=True, autorefresh=False, max_age=0,
                        immutable_file_test=immutable)
    csp = site_csp(root)
    return with_headers(served, [("Content-Security-Policy", csp)] if csp else [])
