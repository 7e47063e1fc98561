"""Files made from other files, kept by the digest of what they were made from in the project's
`.cache/` folder (where Material for MkDocs' plugins keep theirs), so that another process (a
server worker, a CLI command, the next build) need not make them again.

What is kept is only ever a shortcut: a file that cannot be read, written or used is made anew
by the caller, and a folder that cannot be written means no cache, never an error. Each folder
is trimmed to its most recently used files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ROOT = Path(__file__).resolve().parent.parent / ".cache"


def read_kept(path: Path) -> bytes | None:
    """The kept file's bytes (marked as just used), or None when there is none."""
    try:
        data = path.read_bytes()
        os.utime(path)
    except OSError:
        return None
    return data


def keep(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so a process reading it at the same time
    sees the whole file or none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def trim(folder: Path, max_bytes: int) -> None:
    """Remove the least recently used files until `folder` holds at most `max_bytes`."""
    try:
        entries = []
        for entry in os.scandir(folder):
            if entry.is_file():  # a half-written one too: its writer then keeps nothing
                stat = entry.stat()
                entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    except OSError:
        return
    total = sum(size for _mtime, size, _path in entries)
    for _mtime, size, path in sorted(entries):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
