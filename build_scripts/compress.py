"""Precompress the built site: `name.gz` (gzip -9) and `name.br` (brotli) next to `name`.

Compressing at build time costs the server nothing per request and allows the slowest,
smallest settings. WhiteNoise (and nginx's gzip_static/brotli_static, most CDNs) serve
`name.br`/`name.gz` in place of `name` to a client that accepts them. A variant that does not
save at least `MIN_SAVING` of the original is not written: serving it would only cost the
client a decompression (images, fonts and tiny files).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import brotli

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


def brotli_bytes(data: bytes, suffix: str) -> bytes:
    mode = brotli.MODE_FONT if suffix in {".woff", ".ttf"} else brotli.MODE_TEXT
    return brotli.compress(data, mode=mode, quality=11)


def is_compressible(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIBLE and path.stat().st_size >= MIN_SIZE


def _write_or_remove(target: Path, variant: bytes, original_size: int) -> bool:
    if len(variant) <= original_size * (1 - MIN_SAVING):
        target.write_bytes(variant)
        return True
    target.unlink(missing_ok=True)  # a stale variant from an earlier build would be served
    return False


def precompress(site_dir: Path) -> CompressReport:
    """Write `.gz` and `.br` beside every compressible file of `site_dir`."""
    report = CompressReport()
    for path in sorted(Path(site_dir).rglob("*")):
        if not path.is_file() or path.suffix in {".gz", ".br"} or not is_compressible(path):
            continue
        data = path.read_bytes()
        report.files += 1
        report.original_bytes += len(data)
        gz, br = gzip_bytes(data), brotli_bytes(data, path.suffix.lower())
        if _write_or_remove(path.with_name(path.name + ".gz"), gz, len(data)):
            report.gzip_written += 1
            report.gzip_bytes += len(gz)
        else:
            report.gzip_bytes += len(data)
        if _write_or_remove(path.with_name(path.name + ".br"), br, len(data)):
            report.brotli_written += 1
            report.brotli_bytes += len(br)
        else:
            report.brotli_bytes += len(data)
    return report
