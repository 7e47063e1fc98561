"""The test processes' garbage collector settings (see GC_THRESHOLDS in conftest.py)."""

from __future__ import annotations

import gc

from tests.conftest import GC_THRESHOLDS


def test_what_was_loaded_before_the_first_test_is_frozen_and_the_young_generation_is_larger(
) -> None:
    assert gc.get_threshold() == GC_THRESHOLDS
    # imports, the content and the collected tests: far more than a few stray objects
    assert gc.get_freeze_count() > 50_000
