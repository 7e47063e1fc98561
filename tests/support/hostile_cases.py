"""A tally of the hostile cases the hardening tests sent (printed by conftest.py at the end).

A module of its own so the tests and pytest's conftest share one counter."""

from __future__ import annotations

from collections import Counter

CASES: Counter[str] = Counter()


def count_case(kind: str, n: int = 1) -> None:
    """Record that `n` hostile cases of `kind` were sent."""
    CASES[kind] += n


OUTCOMES: Counter[str] = Counter()


def count_outcome(kind: str) -> None:
    """Record an outcome worth reporting (e.g. a hostile-but-valid answer that was stored)."""
    OUTCOMES[kind] += 1
