"""The `.cache/` folders: trimmed to the most recently used files, a kept file marked as used
when it is read, and a folder that cannot be written is no error."""

from __future__ import annotations

import os
from pathlib import Path

from service_rules.file_cache import keep, read_kept, trim


def test_the_trim_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 - age * 100, 1_000_000 - age * 100))
    trim(tmp_path, max_bytes=2000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "newest"]
    trim(tmp_path, max_bytes=2000)
    assert len(list(tmp_path.iterdir())) == 2
    trim(tmp_path / "missing", max_bytes=0)  # no folder yet: nothing to do


def test_a_kept_file_read_counts_as_recently_used(tmp_path: Path) -> None:
    keep(tmp_path / "kept" / "a", b"made")
    os.utime(tmp_path / "kept" / "a", (1_000_000, 1_000_000))
    assert read_kept(tmp_path / "kept" / "a") == b"made"
    assert (tmp_path / "kept" / "a").stat().st_mtime > 1_000_000
    assert read_kept(tmp_path / "kept" / "b") is None
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["a"]  # no temporary file left


def test_keeping_in_a_folder_that_cannot_be_made_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder would go")
    keep(blocker / "kept" / "a", b"made")
    assert read_kept(blocker / "kept" / "a") is None
