"""Uploaded documents at rest: encrypted (AES-256-GCM, bound to the file's name), stored under
random names in UPLOAD_DIR (outside any static folder), fsynced before a request commits."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .crypto import Crypto


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    path: Path


def store(upload_dir: Path, crypto: Crypto, data: bytes) -> StoredFile:
    """Encrypt and write `data` under a fresh random name, fsynced; returns the name."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    path = upload_dir / name
    # the name is chosen first: the ciphertext is bound to it
    token = crypto.encrypt_file(data, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(token)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredFile(name, path)


def read(upload_dir: Path, crypto: Crypto, stored_name: str) -> bytes:
    """Decrypted contents of a stored file; InvalidToken if it is not the file of that name."""
    if not stored_name.isalnum():
        raise ValueError("bad stored name")
    return crypto.decrypt_file((upload_dir / stored_name).read_bytes(), stored_name)


def fsync_dir(directory: Path) -> None:
    """Make new directory entries durable (the files' names, not just their contents)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
