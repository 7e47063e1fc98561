"""The staff console on PostgreSQL: migrations (0002 staff_user) and one journey with the
row lock on the request while an event is recorded. Runs in a fresh database of its own."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from tests.support.staff import (
    Clock,
    add_staff,
    expected_due,
    get_db_of,
    make_app,
    new_request,
    page,
    post_event,
    shown_promises,
    sign_in,
    status_of,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Clock]]:
    name = f"staff_{secrets.token_hex(4)}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    clock = Clock(dt.date(2026, 3, 2))
    app = make_app(tmp_path, postgres_url.rsplit("/", 1)[0] + f"/{name}", TODAY=clock)
    try:
        add_staff(app)
        yield app, clock
    finally:
        get_db_of(app).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_genetic_testing_journey_on_postgres(pg_app: tuple[Flask, Clock]) -> None:
    app, clock = pg_app
    client = app.test_client()
    assert sign_in(client).status_code == 302
    ref = new_request(app, "genetic_testing", request_date=dt.date(2026, 3, 2))
    for event_id, day, fields in [
        ("identity_confirmed", dt.date(2026, 3, 2), {}),
        ("records_complete", dt.date(2026, 3, 3), {}),
        ("sample_received", dt.date(2026, 3, 6), {"sample_type": "peripheral_blood"}),
        ("report_issued", dt.date(2026, 3, 20), {}),
    ]:
        clock.day = day
        assert post_event(client, ref, event_id, day, **fields).status_code == 303
    doc = page(client, ref)
    assert status_of(doc) == "completed"
    lab = shown_promises(doc)["lab_report"]
    assert lab["due"] == expected_due(app, dt.date(2026, 3, 6), 15)
    assert lab["outcome"] == "kept"
    assert client.get("/staff/reports/promises.csv").status_code == 200
