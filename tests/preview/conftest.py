"""Preview fixtures: a running `python -m build_scripts.preview` on a content copy."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from previewing import ROOT, RunningPreview, wait_for


@pytest.fixture
def running_preview(content_copy: Path, tmp_path: Path) -> Iterator[RunningPreview]:
    """The preview CLI on a free port (port 0), serving `content_copy`; always stopped."""
    log_path = tmp_path / "preview.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CONTENT_DIR", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "build_scripts.preview", "--host", "127.0.0.1",
             "--port", "0", "--content", str(content_copy)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = RunningPreview(process, log_path)
    try:
        def address() -> str | None:
            if process.poll() is not None:
                pytest.fail(f"preview exited early ({process.returncode}):\n{running.output()}")
            match = re.search(r"预览地址：(http://127\.0\.0\.1:\d+/)", running.output())
            return match.group(1) if match else None

        running.url = wait_for("the preview to start", address, timeout=90)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
