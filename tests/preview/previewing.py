"""Helpers for the preview tests: bounded waiting, HTTP fetches, the running preview."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0,
             interval: float = 0.2) -> T:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def fetch(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


@dataclass
class RunningPreview:
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def page(self, path: str) -> str:
        return fetch(self.url + path.lstrip("/"))


def page_or_none(running: RunningPreview, path: str) -> str | None:
    try:
        return running.page(path)
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return None


def start_preview(content_dir: Path, log_path: Path, *, extra_args: tuple[str, ...] = (),
                  env: Mapping[str, str] | None = None, timeout: float = 90) -> RunningPreview:
    """Start the preview CLI on port 0; return once it prints its address."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("CONTENT_DIR", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "build_scripts.preview", "--host", "127.0.0.1",
             "--port", "0", "--content", str(content_dir), *extra_args],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    running = RunningPreview(process, log_path)

    def address() -> str | None:
        if process.poll() is not None:
            pytest.fail(f"preview exited early ({process.returncode}):\n{running.output()}")
        match = re.search(r"预览地址：(http://127\.0\.0\.1:\d+/)", running.output())
        return match.group(1) if match else None

    try:
        running.url = wait_for("the preview to start", address, timeout=timeout)
    except BaseException:
        stop_preview(running)
        raise
    return running


def stop_preview(running: RunningPreview, sig: int = signal.SIGINT) -> int:
    """Ask the preview to stop (Ctrl+C by default); kill it if it does not within 15 s."""
    process = running.process
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    return process.returncode


OUTPATIENT = ("        working_days: 5\n        starts_after: [request]\n"
              "        promise: 安排门诊\n")
OUTPATIENT_PROSE = "门诊在客户预约申请后5个工作日内"


def promise_to_seven_days(services: Path) -> None:
    """5 -> 7 working days for the outpatient promise and the flow text that states it, in one
    save (the check refuses prose that states a number of days no promise has)."""
    text = services.read_text(encoding="utf-8")
    assert text.count(OUTPATIENT) == 1 and text.count(OUTPATIENT_PROSE) == 1
    text = text.replace(OUTPATIENT, OUTPATIENT.replace("working_days: 5", "working_days: 7"))
    services.write_text(text.replace(OUTPATIENT_PROSE, OUTPATIENT_PROSE.replace("5", "7")),
                        encoding="utf-8")
