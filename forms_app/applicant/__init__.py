"""What the insured and their family use: the service forms, the confirmation with its promised
dates and calendar file, and the status lookup."""

from __future__ import annotations

from flask import Flask

from . import apply, status


def init_app(app: Flask) -> None:
    app.register_blueprint(apply.bp)
    app.register_blueprint(status.bp)
