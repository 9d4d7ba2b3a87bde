"""Documents' bytes on the hub: content-addressed blobs, received in resumable chunks, kept once.

A whole blob lives at ``blob_dir/ab/cdef...`` (named by its SHA-256). Until it is whole its bytes
grow in ``blob_dir/.partial/<sha256>``: each chunk is appended at the offset the ``blob`` row
records and fsynced *before* the row's ``received_bytes`` moves, so the part file always holds
at least what the row says (a chunk written but never committed is cut off before the next
append). The last chunk is followed by a hash check of the whole file: a match is renamed into
place (``complete``), a mismatch discards the partial data and the row. Chunks of one blob take
turns under the row's lock (``SELECT ... FOR UPDATE``), so two uploads of one file never
interleave. The hub takes bytes only for a document it knows (same hash and size): push the
metadata first.

Errors (on top of ``hub.errors``)::

    InvalidInput   400  BadContentRange  a missing or malformed ``Content-Range``
    Conflict       409  OffsetMismatch   the chunk does not start where the hub's copy ends
                        BlobUnreferenced no document has this hash and size
                        BlobSizeMismatch the total differs from the upload already begun
    HubError       422  BlobCorrupt      the bytes received do not hash to the name (discarded)
    PayloadTooLarge 413                  a blob above ``MAX_BLOB_BYTES``
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, HubError, InvalidInput, NotFound, PayloadTooLarge
from hub.sync_feed import driver
from hub.tables import Blob

MAX_BLOB_BYTES = 20 * 1024 * 1024  # the largest document an edge accepts
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_RANGE = re.compile(r"bytes (\d{1,12})-(\d{1,12})/(\d{1,12})")
_READ = 1024 * 1024
_READABLE = (  # the site's own documents and those of renters booked at the site
    "SELECT 1 FROM document d WHERE d.sha256 = $1 AND ("
    " (d.owner_kind = 'site' AND d.owner_id = $2) OR (d.owner_kind = 'renter' AND EXISTS"
    " (SELECT 1 FROM booking b WHERE b.renter_id = d.owner_id AND b.site_id = $2))) LIMIT 1"
)
_REFERENCED = "SELECT 1 FROM document WHERE sha256 = $1 AND size_bytes = $2 LIMIT 1"


class BadContentRange(InvalidInput):
    code = "bad_content_range"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"


class BlobUnreferenced(Conflict):
    code = "blob_unreferenced"


class BlobSizeMismatch(Conflict):
    code = "blob_size_mismatch"


class BlobCorrupt(HubError):
    code = "blob_hash_mismatch"


@dataclass(frozen=True)
class ContentRange:
    """``bytes START-END/TOTAL`` (END inclusive)."""

    start: int
    end: int
    total: int


@dataclass(frozen=True)
class BlobState:
    """What the hub holds of one blob."""

    sha256: str
    size_bytes: int
    received_bytes: int
    complete: bool


def parse_content_range(header: str | None, body_bytes: int) -> ContentRange:
    """The chunk's range, checked against the body and ``MAX_BLOB_BYTES``."""
    match = _RANGE.fullmatch((header or "").strip())
    if match is None:
        raise BadContentRange("Content-Range must read 'bytes START-END/TOTAL'")
    start, end, total = (int(part) for part in match.groups())
    if total > MAX_BLOB_BYTES:
        raise PayloadTooLarge(
            f"a blob may hold at most {MAX_BLOB_BYTES} bytes", {"max_bytes": MAX_BLOB_BYTES}
        )
    if not start <= end < total:
        raise BadContentRange("Content-Range needs START <= END < TOTAL")
    if end - start + 1 != body_bytes:
        raise BadContentRange(
            f"Content-Range announces {end - start + 1} bytes, the body holds {body_bytes}"
        )
    return ContentRange(start, end, total)


class BlobFiles:
    """The hub's blob folder: whole blobs and the part files of uploads in progress."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def final_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def part_path(self, sha256: str) -> Path:
        return self.root / ".partial" / sha256

    def append(self, sha256: str, offset: int, chunk: bytes) -> None:
        """Write ``chunk`` at ``offset`` (cutting off anything after it) and fsync."""
        part = self.part_path(sha256)
        part.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            os.pwrite(fd, chunk, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def publish(self, sha256: str) -> bool:
        """Move a whole part file into place if it hashes to its name; otherwise drop it."""
        part = self.part_path(sha256)
        digest = hashlib.sha256()
        with part.open("rb") as handle:
            while chunk := handle.read(_READ):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            part.unlink(missing_ok=True)
            return False
        target = self.final_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(part, target)
        _fsync_dir(target.parent)
        return True

    def discard(self, sha256: str) -> None:
        self.part_path(sha256).unlink(missing_ok=True)


async def blob_state(session: AsyncSession, files: BlobFiles, sha256: str) -> BlobState | None:
    """What the hub holds of ``sha256`` (complete or partial), or None."""
    row = await session.get(Blob, sha256)
    if row is None:
        return None
    if files.final_path(sha256).is_file():
        return BlobState(sha256, row.size_bytes, row.size_bytes, True)
    if row.complete:  # the file was lost: the hub holds nothing
        return None
    return BlobState(sha256, row.size_bytes, row.received_bytes, False)


async def receive_chunk(
    session: AsyncSession,
    files: BlobFiles,
    sha256: str,
    chunk_range: ContentRange,
    chunk: bytes,
    now: datetime,
) -> BlobState:
    """Append one chunk; the last one is verified and published. Returns the new state.

    ``BlobCorrupt`` is raised after the row was deleted in ``session``: the caller commits
    that deletion (the partial data is gone) before answering.
    """
    conn = await driver(session)
    if await conn.fetchval(_REFERENCED, sha256, chunk_range.total) is None:
        raise BlobUnreferenced(
            "no document has this hash and size; push the document's metadata first",
            {"sha256": sha256, "size_bytes": chunk_range.total},
        )
    state = await _locked_state(conn, sha256, chunk_range.total, now)
    if files.final_path(sha256).is_file():  # published (the row may lag after a failed commit)
        whole = BlobState(sha256, state.size_bytes, state.size_bytes, True)
        if not state.complete:
            await _save(conn, whole)
        return whole  # stored once: a later upload of the same bytes has nothing to add
    if state.complete:  # the file was lost: take the bytes again
        state = BlobState(sha256, chunk_range.total, 0, False)
    if state.size_bytes != chunk_range.total:
        if state.received_bytes:
            raise BlobSizeMismatch(
                "an upload of this blob with another total size is in progress",
                {"size_bytes": state.size_bytes},
            )
        state = replace(state, size_bytes=chunk_range.total)
    if chunk_range.start != state.received_bytes:
        raise OffsetMismatch(
            f"the hub holds {state.received_bytes} bytes of this blob; continue from there",
            {"offset": state.received_bytes},
        )
    await asyncio.to_thread(files.append, sha256, chunk_range.start, chunk)
    state = replace(state, received_bytes=state.received_bytes + len(chunk))
    if state.received_bytes == state.size_bytes:
        if not await asyncio.to_thread(files.publish, sha256):
            await conn.execute("DELETE FROM blob WHERE sha256 = $1", sha256)
            raise BlobCorrupt(
                "the bytes received do not match the blob's SHA-256; they were discarded, "
                "upload again from offset 0",
                {"sha256": sha256},
            )
        state = replace(state, complete=True)
    await _save(conn, state)
    return state


async def readable_path(session: AsyncSession, files: BlobFiles, sha256: str, site_id: str) -> Path:
    """The file of a whole blob that a document visible to ``site_id`` refers to."""
    conn = await driver(session)
    row = await session.get(Blob, sha256)
    visible = await conn.fetchval(_READABLE, sha256, site_id)
    path = files.final_path(sha256)
    if row is None or not row.complete or visible is None or not path.is_file():
        raise NotFound("no such blob on the hub for this site", {"sha256": sha256})
    return path


async def _locked_state(conn: Any, sha256: str, total: int, now: datetime) -> BlobState:
    await conn.execute(
        "INSERT INTO blob (sha256, size_bytes, received_bytes, complete, created_at)"
        " VALUES ($1, $2, 0, false, $3) ON CONFLICT (sha256) DO NOTHING",
        sha256,
        total,
        now,
    )
    row = await conn.fetchrow(
        "SELECT size_bytes, received_bytes, complete FROM blob WHERE sha256 = $1 FOR UPDATE",
        sha256,
    )
    return BlobState(sha256, row["size_bytes"], row["received_bytes"], row["complete"])


async def _save(conn: Any, state: BlobState) -> None:
    await conn.execute(
        "UPDATE blob SET size_bytes = $2, received_bytes = $3, complete = $4 WHERE sha256 = $1",
        state.sha256,
        state.size_bytes,
        state.received_bytes,
        state.complete,
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
