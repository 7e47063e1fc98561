"""Encryption at rest and keyed hashes for lookups.

Short text fields (ID numbers, phones) are Fernet tokens (rotatable with MultiFernet). Uploaded
files are AES-256-GCM: Fernet's CBC + HMAC + base64 was the largest single cost of a submission
and made every stored file 36% larger.

Keys: `DATA_KEY` holds one or more Fernet keys separated by commas, newest first. New data is
encrypted with the first key; every key can decrypt. To rotate: put a new key in front, restart,
run `flask --app forms_app rotate-keys` (re-encrypts rows and files), then drop the old key.
The file keys are derived from the same Fernet keys (HKDF-SHA256), so operators still manage one
setting and one rotation.

File format (all lengths in bytes):

    magic b"\xffFA" (3) | version 0x01 (1) | key id (8) | nonce (12) | ciphertext | GCM tag (16)

The first byte is not ASCII, so a file can never be mistaken for a (base64, "gAAAAA...") Fernet
token written by earlier versions, which are still read. The associated data is the 12-byte
header plus the stored name: a file copied over another stored name does not decrypt.

Lookup hashes use a separate, stable HMAC key (`HASH_KEY`): a lookup hash must not change
when the encryption key rotates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Crypto", "InvalidToken", "new_key"]


FILE_MAGIC = b"\xffFA"
FILE_VERSION = b"\x01"
KEY_ID_SIZE = 8
NONCE_SIZE = 12
TAG_SIZE = 16
_HEADER_SIZE = len(FILE_MAGIC) + len(FILE_VERSION) + KEY_ID_SIZE
# A new-format file is exactly this much larger than its plaintext.
FILE_OVERHEAD = _HEADER_SIZE + NONCE_SIZE + TAG_SIZE

# Distinct HKDF labels keep the file key, the key id and the Fernet keys independent of each
# other: publishing the id in every file reveals nothing about the key.
_FILE_KEY_INFO = b"forms_app file encryption v1"
_KEY_ID_INFO = b"forms_app file key id v1"


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _hkdf(material: bytes, info: bytes, length: int) -> bytes:
    # No salt: the input is a uniformly random Fernet key, for which RFC 5869 says a salt
    # adds nothing, and every worker must derive the same file key from the same DATA_KEY.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


def _file_key(fernet_key: str) -> tuple[bytes, AESGCM]:
    """(key id, AES-256-GCM cipher) derived from one Fernet key of DATA_KEY."""
    material = base64.urlsafe_b64decode(fernet_key.encode("ascii"))
    return (_hkdf(material, _KEY_ID_INFO, KEY_ID_SIZE),
            AESGCM(_hkdf(material, _FILE_KEY_INFO, 32)))


class Crypto:
    """Encrypt/decrypt bytes and text; keyed hashes of identifiers."""

    def __init__(self, data_keys: str, hash_key: str):
        keys = [k.strip() for k in data_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("DATA_KEY holds no key")
        # Fernet() validates each key before it is used as HKDF input below.
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        file_keys = [_file_key(k) for k in keys]
        self._file_key_id, self._file_cipher = file_keys[0]
        self._file_ciphers = dict(file_keys)
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

    # -- files -----------------------------------------------------------------
    def encrypt_file(self, data: bytes, name: str) -> bytes:
        """AES-256-GCM under the newest key, bound to the file's stored `name`."""
        if not name:
            raise ValueError("a file is encrypted for its stored name")
        header = FILE_MAGIC + FILE_VERSION + self._file_key_id
        nonce = os.urandom(NONCE_SIZE)
        aad = header + name.encode("utf-8")
        return header + nonce + self._file_cipher.encrypt(nonce, data, aad)

    def decrypt_file(self, blob: bytes, name: str) -> bytes:
        """Plaintext of a file stored as `name`: the GCM format or, from earlier versions, a
        Fernet token. Raises InvalidToken for an unknown key, a bad tag or a foreign file."""
        if not blob.startswith(FILE_MAGIC):
            # Written before files moved to GCM; rotate-keys converts them.
            return self._fernet.decrypt(blob)
        header = blob[:_HEADER_SIZE]
        cipher = self._file_ciphers.get(header[-KEY_ID_SIZE:])
        # a later format version is not guessed at: it needs the code that wrote it
        if (len(blob) < FILE_OVERHEAD or cipher is None
                or header[len(FILE_MAGIC):-KEY_ID_SIZE] != FILE_VERSION):
            raise InvalidToken
        nonce = blob[_HEADER_SIZE:_HEADER_SIZE + NONCE_SIZE]
        aad = header + name.encode("utf-8")
        try:
            return cipher.decrypt(nonce, blob[_HEADER_SIZE + NONCE_SIZE:], aad)
        except InvalidTag:
            raise InvalidToken from None

    def rotate_file(self, blob: bytes, name: str) -> bytes:
        """Re-encrypt a file (either format) in the GCM format under the newest key."""
        return self.encrypt_file(self.decrypt_file(blob, name), name)

    # -- keyed hashes ----------------------------------------------------------
    def lookup_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of `value` for equality lookups; `purpose` separates uses."""
        msg = f"{purpose}\x00{value}".encode()
        return hmac.new(self._hash_key, msg, hashlib.sha256).hexdigest()

    def matches(self, purpose: str, value: str, expected_hash: str) -> bool:
        return hmac.compare_digest(self.lookup_hash(purpose, value), expected_hash)
