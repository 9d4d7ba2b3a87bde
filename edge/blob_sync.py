"""Sending documents' bytes to the hub: resumable 1 MiB chunks, each blob stored there once.

After the push (so the hub knows the documents), every document whose bytes are on this node
and not yet known to be whole on the hub is offered: ``HEAD`` tells how much the hub holds, and
``PUT`` sends the rest from that offset, read from the local store after its hash was checked.
An interrupted upload therefore resumes where the hub's copy ends. A blob the hub holds whole
gets an empty marker file ``DIR/blob-sync/<sha256>``, so it is not asked about again; markers
are only a shortcut (losing them costs one ``HEAD`` per document). A blob that cannot be sent
(damaged locally, refused by the hub) is logged and skipped so the round goes on; an unreachable
hub or a refused signature stops the round as any sync request does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import BinaryIO

from edge.blobs import CHUNK_BYTES, BlobDamaged, BlobMissing, BlobStore
from edge.db import raw_connection
from edge.errors import HubRefused
from edge.hub_link import BlobOffset, HubLink
from edge.services import EdgeServices

MARKER_DIR = "blob-sync"
OFFSET_RETRIES = 3  # another upload of the same blob moved the hub's offset: ask again
STOP_ROUND = frozenset({401, 403})  # the node itself is refused: nothing else will pass

log = logging.getLogger("prep.edge.sync")


async def upload_missing_blobs(services: EdgeServices, link: HubLink) -> int:
    """Upload every local document blob the hub lacks; returns how many were completed."""
    store = BlobStore(services.settings.blob_dir)
    markers = services.settings.data_dir / MARKER_DIR
    hashes = await _document_hashes(services)
    pending = await asyncio.to_thread(_unmarked_local, hashes, store, markers)
    completed = 0
    for sha256 in pending:
        try:
            completed += await upload_blob(link, store, sha256)
        except (BlobMissing, BlobDamaged) as exc:
            log.warning("blob %s not uploaded: %s", sha256, exc.message)
            continue
        except HubRefused as exc:
            if exc.hub_status in STOP_ROUND:
                raise
            log.warning("blob %s refused by the hub: %s: %s", sha256, exc.hub_code, exc.message)
            continue
        await asyncio.to_thread(_mark, markers, sha256)
    return completed


async def upload_blob(link: HubLink, store: BlobStore, sha256: str) -> bool:
    """Bring the hub's copy of one blob to whole; True if this call completed it."""
    held = await link.head_blob(sha256)
    if held is not None and held.complete:
        return False
    handle = await asyncio.to_thread(store.open_verified, sha256)
    with handle:
        size = os.fstat(handle.fileno()).st_size
        offset = held.received_bytes if held is not None and held.size_bytes == size else 0
        retries = 0
        while True:
            try:
                state = await _send_chunk(link, handle, sha256, offset, size)
            except HubRefused as exc:
                if exc.hub_code != "offset_mismatch" or retries >= OFFSET_RETRIES:
                    raise
                retries += 1
                held = await link.head_blob(sha256)
                offset = held.received_bytes if held is not None else 0
                continue
            if state.complete:
                return True
            offset = state.received_bytes


async def _send_chunk(
    link: HubLink, handle: BinaryIO, sha256: str, offset: int, size: int
) -> BlobOffset:
    handle.seek(offset)
    chunk = await asyncio.to_thread(handle.read, CHUNK_BYTES)
    return await link.put_blob_chunk(sha256, offset, chunk, size)


async def _document_hashes(services: EdgeServices) -> list[str]:
    async with services.db.read() as session:
        raw = await raw_connection(session)
        rows = raw.execute("SELECT DISTINCT sha256 FROM document ORDER BY sha256").fetchall()
    return [row[0] for row in rows]


def _unmarked_local(hashes: list[str], store: BlobStore, markers: Path) -> list[str]:
    """Hashes not yet marked as whole on the hub whose bytes this node holds."""
    return [h for h in hashes if not (markers / h).exists() and _held(store, h)]


def _held(store: BlobStore, sha256: str) -> bool:
    try:
        return store.exists(sha256)
    except ValueError:  # not a SHA-256 (a malformed row pulled from elsewhere): nothing to send
        return False


def _mark(markers: Path, sha256: str) -> None:
    markers.mkdir(exist_ok=True, mode=0o700)
    (markers / sha256).touch()
