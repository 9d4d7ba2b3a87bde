"""The edge's side of the sync API: signed requests to the hub over HTTP.

Every request carries the node's Ed25519 signature over method, target, body hash, timestamp
and nonce (``sync.signing``); every answer carries the hub's clock (``X-Hub-Time``), from which
the node keeps its clock offset. The transport is injected so tests run a hub in process.
Failures fall in two kinds: the hub could not be reached or was busy (``HubUnreachable``: try
again later, with back-off) and the hub refused what was sent (``HubRefused``: a person or a
code change must act; its error code and message are kept for ``/sync/status``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.errors import HubRefused, HubUnreachable
from sync.signing import public_key_text, sign_request
from sync.snapshot import SnapshotPage, decode_snapshot
from sync.sync_errors import WireError
from sync.wire import CONTENT_TYPE, PullPage, PushAck, PushBatch, decode_pull, encode_push

PULL_MAX_RAW_BYTES = 64 * 1024 * 1024
SNAPSHOT_MAX_RAW_BYTES = 64 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class HubAnswer:
    status: int
    body: bytes
    hub_time_ms: int | None
    bundle_version: int | None = None  # ``X-Prep-Bundle-Version``: the hub's newest bundle


class HubLink:
    """Signed calls to one hub for one node."""

    def __init__(
        self,
        base_url: str,
        node_id: str,
        key: Ed25519PrivateKey,
        now_ms: Any,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.node_id = node_id
        self.key = key
        self.now_ms = now_ms
        self.last_hub_time_ms: int | None = None  # from the latest answer's X-Hub-Time
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=TIMEOUT
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self, method: str, target: str, body: bytes = b"", content_type: str | None = None
    ) -> HubAnswer:
        headers = sign_request(self.key, self.node_id, method, target, body, self.now_ms())
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = await self.client.request(method, target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"the hub did not answer: {type(exc).__name__}") from None
        hub_time = response.headers.get("X-Hub-Time")
        bundle = response.headers.get("X-Prep-Bundle-Version")
        answer = HubAnswer(
            response.status_code,
            response.content,
            int(hub_time) if hub_time and hub_time.isdigit() else None,
            int(bundle) if bundle and bundle.isdigit() else None,
        )
        if answer.hub_time_ms is not None:
            self.last_hub_time_ms = answer.hub_time_ms
        if response.status_code == 429 or response.status_code >= 500:
            retry = response.headers.get("Retry-After")
            raise HubUnreachable(
                f"the hub is busy or failing (HTTP {response.status_code})",
                float(retry) if retry and retry.isdigit() else None,
            )
        if response.status_code >= 400:
            code, message = _error_of(response)
            raise HubRefused(message, response.status_code, code)
        return answer

    async def enroll(self, token: str, site: dict[str, Any], generation: str) -> dict[str, Any]:
        body = json.dumps(
            {
                "token": token,
                "node_id": self.node_id,
                "public_key": public_key_text(self.key),
                "generation": generation,
                "site": site,
            }
        ).encode()
        answer = await self.call("POST", "/sync/v1/enroll", body, "application/json")
        result: dict[str, Any] = json.loads(answer.body)
        return result

    async def push(self, batch: PushBatch) -> tuple[PushAck, HubAnswer]:
        answer = await self.call("POST", "/sync/v1/push", encode_push(batch), CONTENT_TYPE)
        return PushAck.model_validate_json(answer.body), answer

    async def pull(
        self, checkpoint: int, limit: int, report: dict[str, int] | None = None
    ) -> tuple[PullPage, HubAnswer]:
        """A page of the site's feed; ``report`` (outbox depth, oldest unsent change) rides in
        the signed query so the hub can show the fleet's health."""
        query = {"checkpoint": checkpoint, "limit": limit, **(report or {})}
        target = "/sync/v1/pull?" + urlencode(query)
        answer = await self.call("GET", target)
        return decode_pull(answer.body, max_raw_bytes=PULL_MAX_RAW_BYTES), answer

    async def snapshot(self, cursor: str | None, limit: int) -> SnapshotPage:
        """A page of the hub's current state of this node's buckets (``GET /snapshot``); the
        first page of a new snapshot without a cursor. A malformed page is a refusal."""
        query: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        answer = await self.call("GET", "/sync/v1/snapshot?" + urlencode(query))
        try:
            return decode_snapshot(answer.body, max_raw_bytes=SNAPSHOT_MAX_RAW_BYTES)
        except WireError as exc:
            raise HubRefused(
                f"the hub's snapshot page is malformed: {exc.message}", answer.status, "bad_page"
            ) from None

    async def head_blob(self, sha256: str) -> BlobOffset | None:
        """How much of a blob the hub holds (``HEAD /blobs/{sha256}``); None if nothing."""
        try:
            response = await _exchange(self, "HEAD", f"/sync/v1/blobs/{sha256}")
        except HubRefused as exc:
            if exc.hub_status == 404:
                return None
            raise
        return _blob_offset(response.headers)

    async def put_blob_chunk(self, sha256: str, start: int, chunk: bytes, total: int) -> BlobOffset:
        """Send ``chunk`` as the bytes from ``start`` of a ``total``-byte blob (``PUT``)."""
        content_range = f"bytes {start}-{start + len(chunk) - 1}/{total}"
        response = await _exchange(
            self,
            "PUT",
            f"/sync/v1/blobs/{sha256}",
            chunk,
            {"Content-Range": content_range, "Content-Type": "application/octet-stream"},
        )
        return _blob_offset(response.headers)

    async def fetch_blob(self, sha256: str, out: BinaryIO, max_bytes: int) -> int:
        """Stream a whole blob into ``out`` (``GET /blobs/{sha256}``); returns the bytes read.

        Stops after ``max_bytes`` + 1 bytes; the caller checks size and hash.
        """
        await _exchange(self, "GET", f"/sync/v1/blobs/{sha256}", sink=(out, max_bytes))
        return out.tell()

    async def latest_bundle(self) -> dict[str, Any] | None:
        """The hub's newest reference bundle offer (``GET /bundles/latest``); None if none."""
        try:
            answer = await self.call("GET", "/sync/v1/bundles/latest")
        except HubRefused as exc:
            if exc.hub_status == 404:
                return None
            raise
        offer = json.loads(answer.body)
        if not isinstance(offer, dict):
            raise HubRefused("the hub's bundle offer is not a JSON object", 200, "bad_answer")
        return offer

    async def fetch_bundle(self, version: int, out: BinaryIO, max_bytes: int) -> int:
        """Stream a bundle's SQLite file into ``out`` (``GET /bundles/{version}/file``).

        Stops after ``max_bytes`` + 1 bytes; the caller verifies size, hash and signature.
        """
        await _exchange(self, "GET", f"/sync/v1/bundles/{version}/file", sink=(out, max_bytes))
        return out.tell()


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "http_error", f"the hub refused the request (HTTP {response.status_code})"


@dataclass(frozen=True)
class BlobOffset:
    """How much of a blob the hub holds (from ``Upload-Offset``/``-Length``/``-Complete``)."""

    received_bytes: int
    size_bytes: int
    complete: bool


def _blob_offset(headers: httpx.Headers) -> BlobOffset:
    try:
        received, size = int(headers["Upload-Offset"]), int(headers["Upload-Length"])
    except (KeyError, ValueError):
        raise HubRefused("the hub's answer lacks the upload offset", 200, "bad_answer") from None
    return BlobOffset(received, size, headers.get("Upload-Complete") == "true")


async def _exchange(
    link: HubLink,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sink: tuple[BinaryIO, int] | None = None,
) -> httpx.Response:
    """A signed request like ``HubLink.call``, with extra headers; a 2xx body may be streamed
    into ``sink`` (a file and the most bytes to take from the hub)."""
    signed = sign_request(link.key, link.node_id, method, target, body, link.now_ms())
    request = link.client.build_request(
        method, target, content=body, headers={**(headers or {}), **signed}
    )
    try:
        response = await link.client.send(request, stream=True)
        try:
            if response.is_success and sink is not None:
                await _drain(response, *sink)
            else:
                await response.aread()
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise HubUnreachable(f"the hub did not answer: {type(exc).__name__}") from None
    hub_time = response.headers.get("X-Hub-Time")
    if hub_time and hub_time.isdigit():
        link.last_hub_time_ms = int(hub_time)
    if response.status_code == 429 or response.status_code >= 500:
        retry = response.headers.get("Retry-After")
        raise HubUnreachable(
            f"the hub is busy or failing (HTTP {response.status_code})",
            float(retry) if retry and retry.isdigit() else None,
        )
    if response.status_code >= 400:
        code, message = _error_of(response)
        raise HubRefused(message, response.status_code, code)
    return response


async def _drain(response: httpx.Response, out: BinaryIO, max_bytes: int) -> None:
    taken = 0
    async for chunk in response.aiter_bytes():
        out.write(chunk[: max_bytes + 1 - taken])
        taken += len(chunk)
        if taken > max_bytes:
            return
