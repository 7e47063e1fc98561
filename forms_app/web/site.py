"""Serves the built MkDocs site (SITE_DIR, default site/) at `/`, the way a static host would.

WhiteNoise, in front of the app, answers every path that is a file of the built site: the
build's `.br`/`.gz` twin to a client that accepts it (`Vary: Accept-Encoding`, never
`Vary: Cookie`), `index.html` for a folder, files with a content hash in their name cached for a
year as immutable, everything else revalidated (`no-cache`) against an ETag computed from the
file's bytes, so a rebuild that changes nothing changes no ETag. The site's own headers (its
CSP, with the hashes of the build's inline scripts) are set here, since these answers never
reach Flask. Any other path goes on to the app; a path nothing answers gets the site's 404
page. Without a built site, `/` lists the services.

A static host or CDN in front instead: see `build_scripts/SERVING.md` for the same headers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template
from whitenoise import WhiteNoise

from ..content import get_rules
from .headers import SecurityPolicy, common_headers

bp = Blueprint("site", __name__)

# the build's contract (build_scripts.assets.IMMUTABLE_NAME): a content hash in the name
IMMUTABLE_NAME = re.compile(r"\.[0-9a-f]{8,}(\.min)?\.(js|css)$")
YEAR_S = 365 * 24 * 3600


def is_immutable(url: str) -> bool:
    return bool(IMMUTABLE_NAME.search(url))


def content_etag(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return f'"{digest.hexdigest()[:20]}"'


def site_headers(policy: SecurityPolicy) -> Callable[[Any, str, str], None]:
    """WhiteNoise's `add_headers_function`: run once per file when the app starts."""

    def add(headers: Any, path: str, url: str) -> None:
        if is_immutable(url):
            headers["Cache-Control"] = f"public, max-age={YEAR_S}, immutable"
        else:
            headers["Cache-Control"] = "no-cache"
        headers["ETag"] = content_etag(path)
        for name, value in common_headers(policy, site=True).items():
            headers[name] = value

    return add


def asset_manifest(root: Path) -> dict[str, str]:
    """{"stylesheets/extra.css": "stylesheets/extra.8f994d92.min.css", ...} from the build."""
    try:
        data = json.loads((root / "asset-manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def site_asset(name: str) -> str:
    """The URL of one of the site's own assets as the last build named it (hashed, minified),
    for the app's pages that share the site's stylesheet."""
    return "/" + current_app.extensions["forms_site_assets"].get(name, name)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    root = Path(app.config["SITE_DIR"])
    app.extensions["forms_site_assets"] = asset_manifest(root)
    if (root / "index.html").is_file():
        policy: SecurityPolicy = app.extensions["forms_security"]
        app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
            app.wsgi_app, root=str(root), index_file=True, autorefresh=False,
            allow_all_origins=False,
            add_headers_function=site_headers(policy))


@bp.get("/")
def no_site() -> Any:
    """Only reached when there is no built site (WhiteNoise answers `/` otherwise)."""
    return render_template("no_site.html", content=get_rules().content)
