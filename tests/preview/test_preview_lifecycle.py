"""Starting and stopping the preview: its private folders go away, a busy port is a message."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from previewing import ROOT, start_preview, stop_preview


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_removes_the_private_folders(content_copy: Path, tmp_path: Path, sig: int) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    running = start_preview(content_copy, tmp_path / "preview.log", env={"TMPDIR": str(scratch)})
    workdirs = list(scratch.glob("cc-preview-*"))
    assert len(workdirs) == 1 and (workdirs[0] / "site" / "index.html").is_file()
    assert stop_preview(running, sig) == 0
    assert "预览已停止" in running.output()
    assert not workdirs[0].exists()


def test_busy_port_is_a_plain_message(content_copy: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "build_scripts.preview", "--port", str(port),
             "--content", str(content_copy)],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"PORT={port + 1}" in result.stderr
    assert "Traceback" not in result.stderr
