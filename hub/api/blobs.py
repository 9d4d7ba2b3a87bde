"""Sync API for documents' bytes (``/sync/v1/blobs/{sha256}``), every request signed by a node.

``HEAD`` tells how much the hub holds (``Upload-Offset`` bytes of ``Upload-Length``, and
``Upload-Complete``; 404 when nothing); ``PUT`` appends the chunk named by ``Content-Range:
bytes START-END/TOTAL`` where START is the hub's offset (409 ``offset_mismatch`` with
``details.offset`` otherwise) and, with the last byte, verifies and publishes the blob (422 and
the partial data discarded on a hash mismatch); ``GET`` streams a whole blob that a document of
the node's site refers to. A chunk is at most the sync API's body limit; a blob at most 20 MiB.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, head, put
from litestar.params import PathParameter
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.api.markers import Services
from hub.api.sync import _signed
from hub.blob_store import (
    SHA256_PATTERN,
    BlobCorrupt,
    BlobFiles,
    BlobState,
    blob_state,
    parse_content_range,
    readable_path,
    receive_chunk,
)
from hub.errors import NotFound
from hub.services import HubServices
from hub.sync_nodes import SignedRequest, authenticate
from hub.tables import Node

TAGS = ["sync"]

Sha256 = Annotated[
    str, PathParameter(pattern=SHA256_PATTERN, description="the blob's SHA-256, lower-case hex")
]


async def signed_node(session: AsyncSession, services: HubServices, signed: SignedRequest) -> Node:
    """The node that signed the request (401 otherwise); its nonce is stored in ``session``."""
    limits = services.settings.limits
    now = services.clock.now()
    return await authenticate(session, signed, now, limits.clock_skew_ms, limits.nonce_ttl_s)


def _offset_headers(state: BlobState) -> dict[str, str]:
    return {
        "Upload-Offset": str(state.received_bytes),
        "Upload-Length": str(state.size_bytes),
        "Upload-Complete": "true" if state.complete else "false",
        "Cache-Control": "no-store",
    }


@head("/blobs/{sha256:str}", tags=TAGS)
async def blob_offset(
    request: Request[Any, Any, Any], services: Services, sha256: Sha256
) -> Response[None]:
    """How many bytes of the blob the hub holds, in headers (404 when none)."""
    signed = await _signed(request)
    async with services.db.write() as session:
        await signed_node(session, services, signed)
        state = await blob_state(session, BlobFiles(services.settings.blob_dir), sha256)
    if state is None:
        raise NotFound("the hub holds no bytes of this blob", {"sha256": sha256})
    return Response(None, headers=_offset_headers(state))


@put("/blobs/{sha256:str}", tags=TAGS, status_code=200)
async def put_chunk(
    request: Request[Any, Any, Any], services: Services, sha256: Sha256
) -> Response[Any]:
    """Append one chunk at the hub's offset; the last one publishes the verified blob."""
    signed = await _signed(request)
    files = BlobFiles(services.settings.blob_dir)
    corrupt: BlobCorrupt | None = None
    async with services.db.write() as session:
        await signed_node(session, services, signed)
        chunk_range = parse_content_range(request.headers.get("Content-Range"), len(signed.body))
        try:
            state = await receive_chunk(
                session, files, sha256, chunk_range, signed.body, services.clock.now()
            )
        except BlobCorrupt as exc:
            corrupt = exc  # the row's deletion commits with this transaction; then refuse
    if corrupt is not None:
        raise corrupt
    body = {
        "sha256": sha256,
        "size_bytes": state.size_bytes,
        "received_bytes": state.received_bytes,
        "complete": state.complete,
    }
    return Response(body, headers=_offset_headers(state))


@get("/blobs/{sha256:str}", tags=TAGS)
async def download_blob(
    request: Request[Any, Any, Any], services: Services, sha256: Sha256
) -> File:
    """The bytes of a whole blob that a document of the node's site refers to."""
    signed = await _signed(request)
    async with services.db.write() as session:
        node = await signed_node(session, services, signed)
        path = await readable_path(
            session, BlobFiles(services.settings.blob_dir), sha256, node.site_id
        )
    return File(path=path, filename=sha256, media_type="application/octet-stream")


ROUTES: list[Any] = [blob_offset, put_chunk, download_blob]
