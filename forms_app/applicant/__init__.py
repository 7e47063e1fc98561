"""What the insured and their family use: the service forms, the confirmation with its promised
dates and calendar file, the status lookup, and the applicant's rights (withdraw, a copy of
their data)."""

from __future__ import annotations

from flask import Flask

from . import apply, privacy, status


def init_app(app: Flask) -> None:
    app.register_blueprint(apply.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(privacy.bp)
