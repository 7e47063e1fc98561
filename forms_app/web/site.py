"""Serves the built MkDocs site (SITE_DIR, default site/) at `/`: index.html for folders, the
site's own 404 page for anything missing. Without a built site, `/` lists the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    send_from_directory,
)
from werkzeug.security import safe_join

from ..content import get_rules

bp = Blueprint("site", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def site_dir() -> Path:
    return Path(current_app.config["SITE_DIR"])


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def page(path: str) -> Any:
    root = site_dir()
    if path == "" and not (root / "index.html").is_file():
        return render_template("no_site.html", content=get_rules().content)
    target = safe_join(str(root), path) if path else str(root)
    if target is None:
        abort(404)
    target_path = Path(target)
    if target_path.is_dir():
        if path and not path.endswith("/"):
            return redirect("/" + path + "/", 301)
        index = target_path / "index.html"
        if not index.is_file():
            abort(404)
        return send_from_directory(root, str(index.relative_to(root)), max_age=300)
    if not target_path.is_file():
        abort(404)
    return send_from_directory(root, path, max_age=300)
