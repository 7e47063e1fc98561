"""Fixtures for the request app: an app per test on SQLite (or PostgreSQL in a fresh schema),
a client, and helpers that fill a service's form by walking the content."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from forms_app import create_app
from forms_app.crypto import new_key
from forms_app.forms import SELF
from forms_app.identity import id_check_char
from service_rules import Rules, load_rules
from service_rules.deadlines import earliest_admission, shanghai_today

# smallest files each kind is recognised by
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def make_id(prefix17: str = "11010519491231002") -> str:
    return prefix17 + id_check_char(prefix17)


VALID_ID = make_id()            # 11010519491231002X
VALID_PHONE = "13800138000"


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


def _app(tmp_path: Path, database_url: str, **extra: Any) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SECRET_KEY": "test-secret",
        "DATA_KEY": new_key(),
        "HASH_KEY": "test-hash-key",
        "RATELIMIT_ENABLED": True,
        "SITE_DIR": str(tmp_path / "no-site"),
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path, f"sqlite:///{tmp_path / 'forms.db'}")
    yield app
    app.extensions["forms_db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, dropped afterwards; the URL selects it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite and on PostgreSQL (storage tests run on both)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'forms.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    app = _app(tmp_path, url)
    yield app
    app.extensions["forms_db"].dispose()


# -- filling forms -------------------------------------------------------------------------
def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert m, f"hidden field {name} not in page"
    return m.group(1)


def valid_data(rules: Rules, service_id: str, use_id: str | None = None,
               today: dt.date | None = None) -> dict[str, Any]:
    """A complete, eligible answer for the service, built from the content."""
    content = rules.content
    service = content.service(service_id)
    today = today or shanghai_today()
    data: dict[str, Any] = {
        "insured_name": "张三",
        "id_number": VALID_ID,
        "phone": VALID_PHONE,
        "applicant_relation": SELF,
        "applicant_name": "",
        "applicant_phone": "",
        "policy_number": "P2025-0001",
        "policy_effective": (today - dt.timedelta(days=300)).isoformat(),
        "diagnosis_date": (today - dt.timedelta(days=20)).isoformat(),
        "first_diagnosis": "yes",
        "consent": "y",
    }
    if len(service.uses) > 1:
        data["use_id"] = use_id or service.uses[0].id
    cities = [c for c in content.cities if content.hospitals_in(c.id, service_id)]
    if cities:
        data["city"] = cities[0].id
        data["hospital"] = content.hospitals_in(cities[0].id, service_id)[0].id
    if service.advance_booking:
        data["admission_date"] = earliest_admission(
            rules.calendar, today, service.advance_booking).date.isoformat()
    if service.samples:
        data["sample_type"] = service.samples[0].id
    for ref in service.documents:
        if ref.required:
            data[f"doc_{ref.id}"] = (io.BytesIO(PDF), f"{ref.id}.pdf")
    return data


@pytest.fixture
def fresh_form(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """GET a service's form: its CSRF token and submission token."""

    def get(service_id: str, c: FlaskClient | None = None) -> dict[str, str]:
        resp = (c or client).get(f"/apply/{service_id}")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        return {"csrf_token": hidden(html, "csrf_token"),
                "submission_token": hidden(html, "submission_token")}

    return get


def post_form(client: FlaskClient, service_id: str, tokens: dict[str, str],
              data: dict[str, Any], **kwargs: Any) -> Any:
    body = {**tokens, **data}
    # file tuples are consumed by a request: give each POST fresh streams
    for key, value in list(body.items()):
        if isinstance(value, tuple) and hasattr(value[0], "getvalue"):
            body[key] = (io.BytesIO(value[0].getvalue()), value[1])
        elif isinstance(value, list):
            body[key] = [(io.BytesIO(v[0].getvalue()), v[1]) for v in value]
    return client.post(f"/apply/{service_id}", data=body,
                       content_type="multipart/form-data", **kwargs)


@pytest.fixture
def submit(client: FlaskClient, rules: Rules, fresh_form: Callable[..., dict[str, str]]
           ) -> Callable[..., Any]:
    """Fill and POST a service's form: valid data unless overridden."""

    def do(service_id: str, use_choice: str | None = None, c: FlaskClient | None = None,
           **overrides: Any) -> Any:
        data = valid_data(rules, service_id, use_choice)
        for key, value in overrides.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return post_form(c or client, service_id, fresh_form(service_id, c), data)

    return do
