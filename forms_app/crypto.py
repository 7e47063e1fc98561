"""Encryption at rest (Fernet, rotatable with MultiFernet) and keyed hashes for lookups.

Keys: `DATA_KEY` holds one or more Fernet keys separated by commas, newest first. New data is
encrypted with the first key; every key can decrypt. To rotate: put a new key in front, restart,
run `flask --app forms_app rotate-keys` (re-encrypts rows and files), then drop the old key.
Lookup hashes use a separate, stable HMAC key (`HASH_KEY`): a lookup hash must not change
when the encryption key rotates.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["Crypto", "InvalidToken", "new_key"]


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class Crypto:
    """Encrypt/decrypt bytes and text; keyed hashes of identifiers."""

    def __init__(self, data_keys: str, hash_key: str):
        keys = [k.strip() for k in data_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("DATA_KEY holds no key")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        if not hash_key:
            raise ValueError("HASH_KEY is empty")
        self._hash_key = hash_key.encode("utf-8")

    # -- encryption ----------------------------------------------------------
    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def encrypt_text(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt_text(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the newest key."""
        return self._fernet.rotate(token)

    # -- keyed hashes ----------------------------------------------------------
    def lookup_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of `value` for equality lookups; `purpose` separates uses."""
        msg = f"{purpose}\x00{value}".encode()
        return hmac.new(self._hash_key, msg, hashlib.sha256).hexdigest()

    def matches(self, purpose: str, value: str, expected_hash: str) -> bool:
        return hmac.compare_digest(self.lookup_hash(purpose, value), expected_hash)
