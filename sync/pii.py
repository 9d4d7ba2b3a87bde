"""Renter contact details at rest: AES-256-GCM ciphertext plus a keyed blind index for lookup.

Edge and hub each seal under their own keys (contact details travel in signed sync requests
and are sealed again on arrival). The ciphertext is ``nonce (12 bytes) || AES-GCM(value)`` with
the column name as associated data, so a value moved to another column does not decrypt. The
blind index is an HMAC-SHA256 of the normalised value under a separate key: equal values can be
found without decrypting.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
MIN_KEY_BYTES = 32


class PiiKeyError(Exception):
    """A key too short, or a value that does not open under this key (wrong key or damage)."""


class PiiCipher:
    def __init__(self, key: bytes, index_key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES or len(index_key) < MIN_KEY_BYTES:
            raise PiiKeyError(f"PII keys must be {MIN_KEY_BYTES} bytes or more")
        self._aead = AESGCM(hashlib.sha256(key).digest())
        self._index_key = index_key

    def seal(self, column: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, value.encode(), column.encode())

    def open(self, column: str, sealed: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], column.encode()).decode()
        except InvalidTag:
            raise PiiKeyError(f"cannot decrypt {column}: wrong key or damaged data") from None

    def index(self, column: str, value: str) -> str:
        normal = " ".join(value.strip().lower().split())
        if column == "phone":
            normal = "".join(ch for ch in normal if ch.isdigit() or ch == "+")
        return hmac.new(self._index_key, f"{column}:{normal}".encode(), hashlib.sha256).hexdigest()
