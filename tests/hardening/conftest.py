"""Fixtures of the hardening tests: in-process apps on a temporary SQLite database and upload
folder, a scratch PostgreSQL database, and a tally of the hostile cases tried (printed at the
end of the run)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from forms_app import create_app
from forms_app.crypto import new_key
from tests.hardening.cases import CASES, OUTCOMES
from tests.hardening.pg_scratch import scratch_database


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CASES:
        total = sum(CASES.values())
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"hardening: {total} hostile cases tried ({detail})")
    if OUTCOMES:
        terminalreporter.write_line("hardening: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(OUTCOMES.items())))


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """make_app(**config) -> an app on SQLite in tmp_path (secrets fixed per test), rate
    limits off unless given."""
    keys = {"SECRET_KEY": "hardening-secret", "DATA_KEY": new_key(), "HASH_KEY": "hash-key"}
    apps: list[Flask] = []

    def factory(**config: Any) -> Flask:
        base: dict[str, Any] = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'forms.db'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "RATELIMIT_ENABLED": False,
            **keys,
        }
        base.update(config)
        app = create_app(base)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["forms_db"].dispose()


@pytest.fixture
def pg_scratch_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database of its own (the shared `test` one is used by other tests)."""
    with scratch_database(postgres_url) as url:
        if url is None:
            pytest.fail(f"PostgreSQL at {postgres_url} stopped answering")
        yield url
