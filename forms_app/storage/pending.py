"""Files kept for a retry: when a form fails validation, the files it carried that passed their
own checks are kept (encrypted like every upload, in UPLOAD_DIR/pending) so nobody has to choose
them again. Bounded: each file within the upload limits, at most MAX_PER_SESSION per browser
session, and removed by `sweep-uploads` after MAX_AGE_S if the form is abandoned."""

from __future__ import annotations

import time
from pathlib import Path

from .crypto import Crypto, InvalidToken
from .files import read, store

FOLDER = "pending"
MAX_AGE_S = 24 * 3600
MAX_PER_SESSION = 20


def pending_dir(upload_dir: Path) -> Path:
    return upload_dir / FOLDER


def keep(upload_dir: Path, crypto: Crypto, data: bytes) -> str:
    """Store `data` encrypted under a new random name; returns the name."""
    return store(pending_dir(upload_dir), crypto, data).stored_name


def take(upload_dir: Path, crypto: Crypto, name: str) -> bytes | None:
    """The kept file's bytes, None if it is gone (swept) or not a file of ours."""
    if not name.isalnum():
        return None
    try:
        return read(pending_dir(upload_dir), crypto, name)
    except (OSError, ValueError, InvalidToken):
        return None


def discard(upload_dir: Path, names: list[str]) -> None:
    for name in names:
        if name.isalnum():
            (pending_dir(upload_dir) / name).unlink(missing_ok=True)


def sweep(upload_dir: Path, max_age_s: int = MAX_AGE_S) -> int:
    """Remove kept files older than `max_age_s` (forms abandoned); returns how many."""
    folder = pending_dir(upload_dir)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
