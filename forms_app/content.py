"""The content (rules, cities, hospitals, calendar) the app serves, loaded once per process.

Loading validates every file and builds the working-day calendar (about 0.2 s); an app made again
for the same, unchanged content folder (tests, CLI commands) reuses what was loaded. The cache key
includes each file's size and modification time, so an edited file is loaded afresh.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from service_rules import Rules, load_rules

_loaded: dict[tuple[str, tuple[tuple[str, int, int], ...]], Rules] = {}


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


def rules_for(folder: str | Path) -> Rules:
    path = Path(folder).resolve()
    key = (str(path), _signature(path))
    if key not in _loaded:
        _loaded[key] = load_rules(path)
    return _loaded[key]


def init_app(app: Flask) -> None:
    app.extensions["forms_rules"] = rules_for(app.config["CONTENT_DIR"])


def get_rules() -> Rules:
    return current_app.extensions["forms_rules"]
