"""Errors of the sync kernel: what a peer sent cannot be read, is too big, or is not trusted.

SyncError                 anything the sync kernel refuses on purpose
├── WireError             a body that is not a valid sync document (bad zlib, JSON, shape, version)
│   └── BatchTooLarge     over a size or change-count limit; carries ``limit`` and a ``hint``
└── SignatureRejected     a request whose device signature does not hold; carries ``reason``

Each class has a stable ``code``; the hub and edge map these to HTTP statuses in their own
exception handlers (this package imports no framework). None of them subclasses ``ValueError`` on
purpose: pydantic re-wraps a ``ValueError`` raised inside a validator, and the wire models raise
``WireError`` from their validators so that callers see one error type for one kind of failure.
"""

from __future__ import annotations

from typing import Literal

RejectReason = Literal[
    "missing_headers", "bad_signature", "stale_timestamp", "replayed_nonce", "malformed"
]


class SyncError(Exception):
    code = "sync_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WireError(SyncError):
    code = "wire_invalid"


class BatchTooLarge(WireError):
    """A body over a limit; ``hint`` tells the sender what to change."""

    code = "batch_too_large"

    def __init__(self, message: str, *, limit: int, hint: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.hint = hint


class SignatureRejected(SyncError):
    """A sync request that is not signed by the node it names, or not freshly."""

    code = "signature_rejected"

    def __init__(self, reason: RejectReason, message: str | None = None) -> None:
        super().__init__(message or reason.replace("_", " "))
        self.reason: RejectReason = reason
