"""A content-addressed blob store: bytes kept once under their SHA-256, checked on every read.

A blob lives at ``ROOT/ab/cdef...`` (the first two hex digits name the folder, the other 62 the
file). Writing streams into a temporary file in ``ROOT`` while hashing, fsyncs it and renames it
into place, so a blob is either whole or absent. Reading hashes the bytes again: a blob damaged
on disk raises ``BlobDamaged`` and is never served.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from edge.errors import Conflict, PayloadTooLarge

CHUNK_BYTES = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobMissing(Conflict):
    """A document refers to a blob that is not on disk."""

    code = "blob_missing"


class BlobDamaged(Conflict):
    """A blob's bytes no longer match its SHA-256."""

    code = "blob_damaged"


@dataclass(frozen=True)
class StagedBlob:
    """Bytes written and hashed but not yet in place; ``publish`` or ``discard`` it."""

    sha256: str
    size: int
    temp_path: Path


class BlobStore:
    """The blob folder of one node."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256[:70]!r}")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def stage(self, chunks: Iterable[bytes], max_bytes: int) -> StagedBlob:
        """Write ``chunks`` to a temporary file while hashing; refuse more than ``max_bytes``."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = self.root / f".tmp-{uuid.uuid4().hex}"
        digest, size = hashlib.sha256(), 0
        try:
            with _create(temp) as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"the file is larger than {max_bytes} bytes",
                            {"max_bytes": max_bytes},
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StagedBlob(digest.hexdigest(), size, temp)

    def publish(self, staged: StagedBlob) -> Path:
        """Move a staged blob into place (a blob already stored is kept, the copy dropped)."""
        target = self.path_for(staged.sha256)
        if target.is_file():
            staged.temp_path.unlink(missing_ok=True)
            return target
        target.parent.mkdir(exist_ok=True, mode=0o700)
        os.replace(staged.temp_path, target)
        _fsync_dir(target.parent)
        return target

    def discard(self, staged: StagedBlob) -> None:
        staged.temp_path.unlink(missing_ok=True)

    def write(self, chunks: Iterable[bytes], max_bytes: int) -> StagedBlob:
        """Stage and publish in one step; returns what was stored."""
        staged = self.stage(chunks, max_bytes)
        self.publish(staged)
        return staged

    def open_verified(self, sha256: str) -> BinaryIO:
        """An open handle at offset 0 on a blob whose bytes were just checked against its hash."""
        path = self.path_for(sha256)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise BlobMissing(
                "the document's file is missing from this node", {"sha256": sha256}
            ) from None
        try:
            _check(handle, sha256)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        return handle

    def read(self, sha256: str) -> bytes:
        """The whole blob, verified."""
        with self.open_verified(sha256) as handle:
            return handle.read()


def read_chunks(handle: BinaryIO, size: int = CHUNK_BYTES) -> Iterable[bytes]:
    """Chunks of an open file until its end, closing it afterwards."""
    with handle:
        while chunk := handle.read(size):
            yield chunk


def _check(handle: BinaryIO, sha256: str) -> None:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise BlobDamaged(
            "the document's stored bytes no longer match their SHA-256; refusing to serve them",
            {"sha256": sha256, "actual_sha256": digest.hexdigest()},
        )


def _create(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
