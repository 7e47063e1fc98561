"""The JSON API: the services, promised dates for given event dates, its OpenAPI document."""

from __future__ import annotations

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
