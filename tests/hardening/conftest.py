"""Fixtures of the hardening tests: in-process apps on a temporary SQLite database and upload
folder, a scratch PostgreSQL database, and a tally of the hostile cases tried (printed at the
end of the run)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.hostile_cases import CASES, OUTCOMES
from tests.support.pg_scratch import scratch_database


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CASES:
        total = sum(CASES.values())
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"hardening: {total} hostile cases tried ({detail})")
    if OUTCOMES:
        terminalreporter.write_line("hardening: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(OUTCOMES.items())))


@pytest.fixture
def make_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """The shared app factory with rate limits off unless a test turns them on."""
    def factory(**config: Any) -> Flask:
        return make_app(**{"RATELIMIT_ENABLED": False, **config})
    return factory


@pytest.fixture
def pg_scratch_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database of its own (the shared `test` one is used by other tests)."""
    with scratch_database(postgres_url) as url:
        if url is None:
            pytest.fail(f"PostgreSQL at {postgres_url} stopped answering")
        yield url
