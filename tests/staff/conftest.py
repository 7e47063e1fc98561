"""Fixtures for the staff console: an app on a fresh database with a frozen "today", a signed-in
client, and requests created through the store layer (as the online form does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.staff import Clock, add_staff, get_db_of, make_app, new_request, sign_in


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.date(2026, 3, 2))  # a Monday


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    app = make_app(tmp_path, TODAY=clock)
    add_staff(app)
    yield app
    get_db_of(app).dispose()


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302, response.status_code
    return client


@pytest.fixture
def make_request(app: Flask) -> Callable[..., str]:
    def make(service_id: str, **kwargs: Any) -> str:
        return new_request(app, service_id, **kwargs)
    return make
