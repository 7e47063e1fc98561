"""The check messages shown in content/README.md are the ones the check really prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from editors_guide import apply, examples, normalise, run_rules

MESSAGES = {k: v for k, v in examples().items() if v.kind == "message"}


def test_guide_explains_common_mistakes() -> None:
    assert {"tab", "colon", "tel", "typo", "city", "date-format", "makeup-weekday",
            "stale-days"} <= set(MESSAGES)
    assert all(m.expected_output.strip() for m in MESSAGES.values())


@pytest.mark.parametrize("message_id", sorted(MESSAGES))
def test_message_in_guide_matches_real_check(message_id: str, content_copy: Path) -> None:
    example = MESSAGES[message_id]
    apply(example, content_copy)
    result = run_rules("check", "--content", content_copy)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    shown = normalise(example.expected_output)
    assert shown in normalise(result.stderr), (
        f"guide shows:\n{example.expected_output}\ncheck printed:\n{result.stderr}")
