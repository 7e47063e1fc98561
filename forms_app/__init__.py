"""The request app: forms for the four services, confirmation, status lookup, JSON API, and the
built site served at `/`. Application factory as in Flask's tutorial.

    flask --app forms_app run                       # development
    python -m forms_app --host 127.0.0.1 --port 8000
    gunicorn -w 2 'forms_app:create_app()'          # production
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from flask import Flask

from service_rules import load_rules

from .config import defaults, load_secrets
from .crypto import Crypto
from .db import Database
from .extensions import init_extensions
from .formparser import FormRequest
from .security import init_security

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # the built site owns every other path; the app's own files live under /app-static
    app = Flask(__name__, instance_relative_config=True, static_url_path="/app-static")
    app.request_class = FormRequest  # multipart bodies parsed by python-multipart
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(defaults(instance))
    if test_config:
        app.config.from_mapping(test_config)
    load_secrets(app.config, instance)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)

    rules = load_rules(app.config["CONTENT_DIR"])
    db = Database(app.config["DATABASE_URL"])
    if app.config["AUTO_MIGRATE"]:
        db.upgrade(lock_dir=instance)
    crypto = Crypto(app.config["DATA_KEY"], app.config["HASH_KEY"])
    init_extensions(app, rules, db, crypto)
    from .store import warm_up

    warm_up(db)
    init_security(app)

    from . import api, apply, errors, site, status
    from .cli import register_cli

    app.register_blueprint(apply.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(api.bp)
    # the staff console (issue 5) lives in forms_app/staff/ and exposes `bp`; STAFF_CONSOLE=0
    # leaves it out (e.g. a public host, with the console on an internal one)
    if app.config["STAFF_CONSOLE"] and find_spec("forms_app.staff") is not None:
        from . import staff  # type: ignore[attr-defined]

        app.register_blueprint(staff.bp)
    errors.register(app)

    from .present import chinese_date

    @app.context_processor
    def _globals() -> dict[str, Any]:
        product = rules.content.product
        return {"product_name": product.name, "hotline": product.hotline,
                "chinese_date": chinese_date}

    register_cli(app)
    # last: the built site answers every path the blueprints above do not
    app.register_blueprint(site.bp)
    return app
