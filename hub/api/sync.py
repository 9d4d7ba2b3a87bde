"""Sync API (``/sync/v1``): enrol, push, pull and snapshot, every request signed by the node's key.

Handlers are thin: read the raw body (signatures cover the exact bytes), open one write
transaction, authenticate the node, hand over to ``hub.sync_push`` / ``hub.sync_pull`` /
``hub.sync_snapshot``.
At most ``limits.max_inflight_pushes`` pushes are applied at once; beyond that the answer is
429 with ``Retry-After``, so a fleet coming back online queues itself instead of the database.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import asyncpg
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from litestar import Request, Response, get, post
from litestar.params import Parameter
from pydantic import ValidationError

from hub.api.markers import Services
from hub.clock import epoch_ms
from hub.errors import InvalidInput, PayloadTooLarge, Unauthorized
from hub.errors_http import error_response
from hub.services import HubServices
from hub.sync_nodes import EnrollRequest, SignedRequest, authenticate, enroll
from hub.sync_pull import (
    BUNDLE_HEADER,
    MAX_PAGE,
    serve_pull,
    without_waiting_for_disk,
)
from hub.sync_push import apply_push, check_clock
from hub.sync_snapshot import MAX_SNAPSHOT_PAGE, SNAPSHOT_PAGE, snapshot_page
from sync.pii import PiiCipher
from sync.snapshot import SNAPSHOT_CONTENT_TYPE, encode_snapshot
from sync.sync_errors import BatchTooLarge, WireError
from sync.wire import CONTENT_TYPE, decode_push, encode_pull

RETRY_AFTER_S = 1


async def _signed(request: Request[Any, Any, Any]) -> SignedRequest:
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = request.scope["path"] + (f"?{query}" if query else "")
    return SignedRequest(request.method, target, await request.body(), request.headers)


def _pii(services: HubServices) -> PiiCipher:
    settings = services.settings
    return PiiCipher(
        settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
    )


@post("/enroll", tags=["sync"], status_code=201)
async def enroll_node(request: Request[Any, Any, Any], services: Services) -> dict[str, Any]:
    """Register a node's public key with a one-time token (the request is signed by that key)."""
    signed = await _signed(request)
    try:
        data = EnrollRequest.model_validate_json(signed.body)
    except ValidationError as exc:
        raise InvalidInput("not an enrolment request", {"errors": exc.errors()[:3]}) from None
    now = services.clock.now()
    async with services.db.write() as session:
        return await enroll(
            session, data, signed, now, services.settings.limits.clock_skew_ms, _refdb_pem(services)
        )


def _refdb_pem(services: HubServices) -> str | None:
    if not services.settings.refdb_public_key:
        return None
    key = services.settings.refdb_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@post("/push", tags=["sync"], status_code=200)
async def push(request: Request[Any, Any, Any], services: Services) -> Response[Any]:
    """Apply a compressed batch of outbox changes once; answer the high-water mark."""
    if services.push_slots.locked():
        response = error_response(
            429, "too_many_requests", "the hub is busy applying pushes; retry shortly", {}
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    limits = services.settings.limits
    async with services.push_slots:
        signed = await _signed(request)
        now = services.clock.now()
        async with services.db.write() as session:
            node = await authenticate(
                session, signed, now, limits.clock_skew_ms, limits.nonce_ttl_s
            )
            try:
                batch = decode_push(
                    signed.body,
                    max_changes=limits.push_max_changes,
                    max_raw_bytes=limits.push_max_raw_bytes,
                )
            except BatchTooLarge as exc:
                raise PayloadTooLarge(exc.message, {"limit": exc.limit, "hint": exc.hint}) from None
            except WireError as exc:
                raise InvalidInput(f"not a push batch: {exc.message}") from None
            if batch.node_id != node.id:
                raise Unauthorized("the batch names another node than the one that signed it")
            check_clock(batch, epoch_ms(now), limits.clock_skew_ms)
            try:
                ack = await apply_push(session, node, batch, now, _pii(services))
            except (KeyError, TypeError, ValueError, asyncpg.DataError) as exc:  # malformed change
                raise InvalidInput(f"a change in the batch is malformed: {exc!r}") from None
    services.count(f"push:{node.id}")
    return Response(ack.model_dump_json(), media_type="application/json")


@get("/pull", tags=["sync"])
async def pull(
    request: Request[Any, Any, Any],
    services: Services,
    checkpoint: Annotated[int, Parameter(ge=0)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 5000,
    outbox_depth: Annotated[int | None, Parameter(ge=0)] = None,
    oldest_unsent_ms: Annotated[int | None, Parameter(ge=0)] = None,
) -> Response[bytes]:
    """The site's changes after ``checkpoint``, compressed, with the new checkpoint; the node
    reports its outbox depth and oldest unsent change in the same (signed) request."""
    limits = services.settings.limits
    signed = await _signed(request)
    now = services.clock.now()
    async with services.db.write() as session:
        await without_waiting_for_disk(session)
        node = await authenticate(session, signed, now, limits.clock_skew_ms, limits.nonce_ttl_s)
        reported = (outbox_depth, oldest_unsent_ms)
        page, bundle = await serve_pull(
            session, node, checkpoint, limit, now, _pii(services), reported
        )
    headers = {BUNDLE_HEADER: str(bundle)} if bundle is not None else {}
    return Response(encode_pull(page), media_type=CONTENT_TYPE, headers=headers)


@get("/snapshot", tags=["sync"])
async def snapshot(
    request: Request[Any, Any, Any],
    services: Services,
    limit: Annotated[int, Parameter(ge=1, le=MAX_SNAPSHOT_PAGE)] = SNAPSHOT_PAGE,
    cursor: Annotated[str | None, Parameter(min_length=1, max_length=1024)] = None,
) -> Response[bytes]:
    """A page of the current state of the node's buckets (``sync.snapshot``); without a
    cursor, the first page of a new snapshot, which fixes its ``as_of`` feed position."""
    limits = services.settings.limits
    signed = await _signed(request)
    now = services.clock.now()
    async with services.db.write() as session:
        node = await authenticate(session, signed, now, limits.clock_skew_ms, limits.nonce_ttl_s)
        page = await snapshot_page(session, node, cursor, limit, now, _pii(services))
    body = await asyncio.to_thread(encode_snapshot, page)  # deflate lets the loop run meanwhile
    return Response(body, media_type=SNAPSHOT_CONTENT_TYPE)


ROUTES: list[Any] = [enroll_node, push, pull, snapshot]
