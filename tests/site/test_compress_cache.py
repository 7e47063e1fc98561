"""The build's kept variants (`.cache/compressed`): an unchanged file is not compressed again,
a damaged kept variant is never written into the site, a variant used again counts as recent
(the folder is trimmed to the recently used: tests/rules/test_file_cache.py)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
import pytest

from build_scripts import compress
from build_scripts.compress import precompress


def write_site(root: Path) -> dict[str, bytes]:
    files = {"a.html": "<p>服务流程</p>\n".encode() * 200,
             "b.css": b"body { color: #333; }\n" * 200,
             "c.js.map": b'{"version":3,"sources":["a.js"]}' * 100}
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def assert_variants_decompress(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert gzip.decompress((root / f"{name}.gz").read_bytes()) == data, name
        assert brotli.decompress((root / f"{name}.br").read_bytes()) == data, name


def test_a_second_build_takes_every_unchanged_variant_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    files = write_site(tmp_path / "first")
    precompress(tmp_path / "first", cache)
    assert len(list(cache.iterdir())) == 2 * len(files)

    def no_compressing(*_args: object) -> bytes:
        raise AssertionError("compressed again")

    monkeypatch.setattr(compress, "gzip_bytes", no_compressing)
    monkeypatch.setattr(compress, "brotli_bytes", no_compressing)
    write_site(tmp_path / "second")
    report = precompress(tmp_path / "second", cache)
    assert report.gzip_written == report.brotli_written == len(files)
    assert_variants_decompress(tmp_path / "second", files)


def test_a_changed_file_is_compressed_anew(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = write_site(tmp_path / "site")
    precompress(tmp_path / "site", cache)
    files["a.html"] = "<p>改过的服务流程</p>\n".encode() * 200
    (tmp_path / "site" / "a.html").write_bytes(files["a.html"])
    precompress(tmp_path / "site", cache)
    assert_variants_decompress(tmp_path / "site", files)
    assert len(list(cache.iterdir())) == 2 * (len(files) + 1)


def test_a_damaged_kept_variant_is_made_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = write_site(tmp_path / "first")
    precompress(tmp_path / "first", cache)
    for kept in cache.iterdir():  # cut short, as a full disk or a killed build would leave it
        kept.write_bytes(kept.read_bytes()[: kept.stat().st_size // 2])
    write_site(tmp_path / "second")
    precompress(tmp_path / "second", cache)
    assert_variants_decompress(tmp_path / "second", files)
    write_site(tmp_path / "third")  # and the cache holds whole variants again
    precompress(tmp_path / "third", cache)
    assert_variants_decompress(tmp_path / "third", files)


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    files = write_site(tmp_path / "site")
    report = precompress(tmp_path / "site", blocker / "cache")
    assert report.brotli_written == len(files)
    assert_variants_decompress(tmp_path / "site", files)


def test_a_variant_used_again_counts_as_recent(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write_site(tmp_path / "site")
    precompress(tmp_path / "site", cache)
    for kept in cache.iterdir():
        os.utime(kept, (1_000_000, 1_000_000))
    precompress(tmp_path / "site", cache)
    assert all(kept.stat().st_mtime > 1_000_000 for kept in cache.iterdir())
