"""The request app: forms for the four services, confirmation, status lookup, the staff console,
the JSON API, and the built site served at `/`.

    gunicorn 'forms_app:create_app()'               # production (see the README)
    python -m forms_app --host 127.0.0.1 --port 8000
    flask --app forms_app run                       # development

Where a change goes:
    config.py     every setting, read from the environment
    content.py    the content (rules, cities, hospitals, calendar), loaded once
    storage/      database, migrations, models, requests, staff accounts, audit, outbox, files
    applicant/    apply, confirmation, .ics, status lookup (forms, view models, templates)
    staff/        sign-in, queue, request page, reports (forms, templates)
    messages/     texts sent to applicants and the senders that deliver them
    api/          JSON views and the OpenAPI document
    web/          headers, error pages, base templates, the built site
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import api, applicant, content, extensions, messages, storage, web
from .config import Config, finish


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # the built site owns every other path; the app's own files live under /app-static
    app = Flask(__name__, instance_relative_config=True, static_folder="web/static",
                static_url_path="/app-static", template_folder="web/templates")
    instance = Path(app.instance_path)
    app.config.from_mapping(Config.from_env(instance))
    if test_config:
        app.config.from_mapping(test_config)
    finish(app.config, instance)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    content.init_app(app)
    storage.init_app(app)
    extensions.init_app(app)
    web.init_app(app)
    applicant.init_app(app)
    api.init_app(app)
    messages.init_app(app)
    if app.config["STAFF_CONSOLE"]:
        from . import staff

        staff.init_app(app)
    return app
