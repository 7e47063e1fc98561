"""Preview fixtures: a running `python -m build_scripts.preview` on a content copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from previewing import RunningPreview, start_preview, stop_preview


@pytest.fixture
def running_preview(content_copy: Path, tmp_path: Path) -> Iterator[RunningPreview]:
    """The preview CLI on a free port (port 0), serving `content_copy`; always stopped."""
    running = start_preview(content_copy, tmp_path / "preview.log")
    try:
        yield running
    finally:
        stop_preview(running)
