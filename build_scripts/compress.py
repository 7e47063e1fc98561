"""Precompress the built site: `name.gz` (gzip -9) and `name.br` (brotli) next to `name`.

Compressing at build time costs the server nothing per request and allows the slowest,
smallest settings. WhiteNoise (and nginx's gzip_static/brotli_static, most CDNs) serve
`name.br`/`name.gz` in place of `name` to a client that accepts them. A variant that does not
save at least `MIN_SAVING` of the original is not written: serving it would only cost the
client a decompression (images, fonts and tiny files).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import brotli

from service_rules import file_cache

# Text formats the site has (MkDocs, Material, our build); images other than SVG are already
# compressed.
COMPRESSIBLE = frozenset({
    ".html", ".htm", ".css", ".js", ".mjs", ".json", ".map", ".svg", ".xml", ".txt",
    ".ico", ".webmanifest", ".csv", ".ics", ".md",
})
MIN_SIZE = 256          # below this, headers dominate: a compressed body saves next to nothing
MIN_SAVING = 0.05       # write a variant only when it is at least 5% smaller


@dataclass
class CompressReport:
    files: int = 0            # compressible files looked at
    gzip_written: int = 0
    brotli_written: int = 0
    original_bytes: int = 0
    gzip_bytes: int = 0       # of the written .gz, or the original where none was written
    brotli_bytes: int = 0


def gzip_bytes(data: bytes) -> bytes:
    """gzip -9 with no file name and mtime 0, so a rebuild of the same file is byte-identical."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


# Source maps are fetched by developer tools only: a fast setting (they were half the build's
# compression time at quality 11, for a few percent of their size).
FAST_SUFFIXES = frozenset({".map"})


def brotli_quality(suffix: str) -> int:
    return 5 if suffix in FAST_SUFFIXES else 11


def brotli_bytes(data: bytes, suffix: str) -> bytes:
    return brotli.compress(data, mode=brotli.MODE_TEXT, quality=brotli_quality(suffix))


def is_compressible(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIBLE and path.stat().st_size >= MIN_SIZE


def _write_or_remove(target: Path, variant: bytes, original_size: int) -> bool:
    if len(variant) <= original_size * (1 - MIN_SAVING):
        target.write_bytes(variant)
        return True
    target.unlink(missing_ok=True)  # a stale variant from an earlier build would be served
    return False


# Variants already made, by the file's digest (`service_rules.file_cache`): a rebuild (the
# preview after each edit, `make site` again, a check of edited content, each test build)
# compresses only what changed, not the theme's scripts and styles, over half of a build's time
# at these settings. A kept variant is used only after it decompresses to the file (a cut-short
# or damaged one is made again); the folder keeps the newest `MAX_KEPT_BYTES`, as a preview runs
# for hours.
CACHE_DIR = file_cache.CACHE_ROOT / "compressed"
MAX_KEPT_BYTES = 64 * 1024 * 1024


def _kept_names(digest: str, suffix: str) -> tuple[str, str]:
    stem = f"{digest}{suffix}"
    return f"{stem}.gzip9.gz", f"{stem}.brotli{brotli_quality(suffix)}.br"


def _kept_variant(path: Path, data: bytes, make: Callable[[], bytes],
                  decompress: Callable[[bytes], bytes]) -> bytes:
    kept = file_cache.read_kept(path)
    if kept is not None:
        try:
            if decompress(kept) == data:
                return kept
        except (ValueError, EOFError, zlib.error, brotli.error):
            pass
    made = make()
    file_cache.keep(path, made)
    return made


def _variants(path: Path, cache_dir: Path | None) -> tuple[Path, int, bytes, bytes]:
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if cache_dir is None:
        return path, len(data), gzip_bytes(data), brotli_bytes(data, suffix)
    gz_name, br_name = _kept_names(hashlib.sha256(data).hexdigest(), suffix)
    gz = _kept_variant(cache_dir / gz_name, data, lambda: gzip_bytes(data), gzip.decompress)
    br = _kept_variant(cache_dir / br_name, data, lambda: brotli_bytes(data, suffix),
                       brotli.decompress)
    return path, len(data), gz, br


def precompress(site_dir: Path, cache_dir: Path | None = CACHE_DIR) -> CompressReport:
    """Write `.gz` and `.br` beside every compressible file of `site_dir`, taking the variants
    of files compressed before from `cache_dir` (None: make every one anew)."""
    report = CompressReport()
    paths = [p for p in sorted(Path(site_dir).rglob("*"))
             if p.is_file() and p.suffix not in {".gz", ".br"} and is_compressible(p)]
    # zlib and brotli release the GIL while they compress: one thread per CPU
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        made = pool.map(_variants, paths, [cache_dir] * len(paths))
        for path, size, gz, br in made:
            report.files += 1
            report.original_bytes += size
            if _write_or_remove(path.with_name(path.name + ".gz"), gz, size):
                report.gzip_written += 1
                report.gzip_bytes += len(gz)
            else:
                report.gzip_bytes += size
            if _write_or_remove(path.with_name(path.name + ".br"), br, size):
                report.brotli_written += 1
                report.brotli_bytes += len(br)
            else:
                report.brotli_bytes += size
    if cache_dir is not None:
        file_cache.trim(cache_dir, MAX_KEPT_BYTES)
    return report
