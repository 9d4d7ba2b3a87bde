"""Renter contact details at rest on the edge: the shared cipher (``sync.pii``) under this
node's keys, with its key errors reported as the edge's ``SetupError``."""

from __future__ import annotations

from edge.errors import SetupError
from sync.pii import PiiCipher as _SharedCipher
from sync.pii import PiiKeyError


class PiiCipher(_SharedCipher):
    def __init__(self, key: bytes, index_key: bytes) -> None:
        try:
            super().__init__(key, index_key)
        except PiiKeyError as exc:
            raise SetupError(str(exc)) from None

    def open(self, column: str, sealed: bytes) -> str:
        try:
            return super().open(column, sealed)
        except PiiKeyError as exc:
            raise SetupError(str(exc)) from None
