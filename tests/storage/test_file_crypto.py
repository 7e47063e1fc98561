"""File encryption at rest (AES-256-GCM keyed from DATA_KEY): round trip, no plaintext and
no Fernet on disk, every byte authenticated, bound to its stored name, legacy Fernet files
still read, unknown keys refused. Rotation through the CLI is in test_app_storage.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forms_app.storage.crypto import FILE_MAGIC, FILE_OVERHEAD, Crypto, InvalidToken, new_key
from forms_app.storage.files import read, store
from tests.support.forms import PDF

HASH_KEY = "test-hash-key"
NAME = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
DOC = PDF + os.urandom(200)


@pytest.fixture
def crypto() -> Crypto:
    return Crypto(new_key(), HASH_KEY)


@pytest.mark.parametrize("data", [b"", b"x", DOC, os.urandom(100_000)])
def test_round_trip_and_size(crypto: Crypto, data: bytes) -> None:
    blob = crypto.encrypt_file(data, NAME)
    assert crypto.decrypt_file(blob, NAME) == data
    assert len(blob) == len(data) + FILE_OVERHEAD == len(data) + 40
    # a fresh nonce each time: the same file twice is two different ciphertexts
    assert crypto.encrypt_file(data, NAME) != blob


def test_stored_file_holds_no_plaintext_and_is_not_fernet(crypto: Crypto, tmp_path: Path) -> None:
    data = PDF + b"patient: Zhang San, diagnosis: confidential" * 20
    stored = store(tmp_path, crypto, data)
    raw = stored.path.read_bytes()
    assert raw.startswith(FILE_MAGIC) and not raw.startswith(b"gAAAAA")
    assert b"%PDF" not in raw and b"confidential" not in raw
    with pytest.raises(InvalidToken):
        crypto.decrypt(raw)  # nor would Fernet take it for one of its tokens
    assert read(tmp_path, crypto, stored.stored_name) == data
    assert stored.path.stat().st_mode & 0o777 == 0o600


def test_every_byte_is_authenticated(crypto: Crypto) -> None:
    """Magic, version, key id, nonce, ciphertext and tag: flipping any bit of any byte, or
    cutting the file short, makes it unreadable rather than silently different."""
    blob = crypto.encrypt_file(DOC, NAME)
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            with pytest.raises(InvalidToken):
                crypto.decrypt_file(bytes(tampered), NAME)
    for cut in (0, 1, 3, 4, 12, 24, FILE_OVERHEAD - 1, len(blob) - 1):
        with pytest.raises(InvalidToken):
            crypto.decrypt_file(blob[:cut], NAME)
    with pytest.raises(InvalidToken):
        crypto.decrypt_file(blob + b"\x00", NAME)


def test_a_file_under_another_stored_name_does_not_decrypt(crypto: Crypto,
                                                           tmp_path: Path) -> None:
    mine = store(tmp_path, crypto, DOC)
    theirs = store(tmp_path, crypto, PDF)
    # swap one person's document in for another's
    theirs.path.write_bytes(mine.path.read_bytes())
    with pytest.raises(InvalidToken):
        read(tmp_path, crypto, theirs.stored_name)
    assert read(tmp_path, crypto, mine.stored_name) == DOC
    with pytest.raises(InvalidToken):
        crypto.decrypt_file(crypto.encrypt_file(DOC, NAME), OTHER)


def test_legacy_fernet_files_still_read(crypto: Crypto, tmp_path: Path) -> None:
    """Earlier versions stored Fernet tokens; an upgraded install reads them unchanged."""
    legacy = crypto.encrypt(DOC)
    assert legacy.startswith(b"gAAAAA")
    assert crypto.decrypt_file(legacy, NAME) == DOC
    (tmp_path / NAME).write_bytes(legacy)
    assert read(tmp_path, crypto, NAME) == DOC
    with pytest.raises(InvalidToken):
        Crypto(new_key(), HASH_KEY).decrypt_file(legacy, NAME)


def test_unknown_key_is_refused(crypto: Crypto) -> None:
    blob = crypto.encrypt_file(DOC, NAME)
    with pytest.raises(InvalidToken):
        Crypto(new_key(), HASH_KEY).decrypt_file(blob, NAME)


def test_every_worker_derives_the_same_file_key() -> None:
    """The file key comes from DATA_KEY alone: another process with the same setting (another
    worker, the CLI, a restart) reads what this one wrote."""
    key = new_key()
    blob = Crypto(key, HASH_KEY).encrypt_file(DOC, NAME)
    assert Crypto(key, "another-hash-key").decrypt_file(blob, NAME) == DOC


def test_rotation_reads_both_keys_and_rewrites_under_the_newest() -> None:
    old, new = new_key(), new_key()
    before = Crypto(old, HASH_KEY)
    both = Crypto(f"{new},{old}", HASH_KEY)
    only_new = Crypto(new, HASH_KEY)
    gcm_old, legacy_old = before.encrypt_file(DOC, NAME), before.encrypt(DOC)
    gcm_new = both.encrypt_file(DOC, NAME)
    assert gcm_new[:12] != gcm_old[:12]  # the header names the key
    for blob in (gcm_old, legacy_old, gcm_new):
        assert both.decrypt_file(blob, NAME) == DOC
        rotated = both.rotate_file(blob, NAME)
        assert rotated.startswith(FILE_MAGIC) and rotated[:12] == gcm_new[:12]
        assert only_new.decrypt_file(rotated, NAME) == DOC
        with pytest.raises(InvalidToken):
            before.decrypt_file(rotated, NAME)
    with pytest.raises(InvalidToken):
        both.rotate_file(gcm_old, OTHER)  # rotation does not launder a swapped file


def test_text_fields_stay_fernet(crypto: Crypto) -> None:
    token = crypto.encrypt_text("13800138000")
    assert token.startswith("gAAAAA") and crypto.decrypt_text(token) == "13800138000"


def test_a_file_needs_its_name(crypto: Crypto) -> None:
    with pytest.raises(ValueError):
        crypto.encrypt_file(DOC, "")
