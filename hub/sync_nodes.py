"""Device trust on the hub: enrolling an edge, and authenticating each signed sync request.

An edge enrols once with a one-time token (``prep-hub enroll-token``) and its Ed25519 public
key; the enrol request is signed with that key, which proves the edge holds it. The token's
site takes the edge's own site id (a new site has no data yet, so nothing else moves), so ids in
every change the edge sends are the hub's ids too.

Every later request is verified against the node's key: signature over method, target, body
hash, timestamp and nonce; a timestamp outside the allowed skew and a nonce seen before are
refused, and so is a revoked node, at once. Nonces live in ``request_nonce`` (shared by every
hub process), pruned after ``limits.nonce_ttl_s``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.clock import epoch_ms
from hub.errors import Conflict, Unauthorized
from hub.sync_feed import driver
from hub.tables import Node
from hub.tokens import token_hash
from sync.signing import claimed_node, verify_request
from sync.sync_errors import SignatureRejected

PRUNE_EVERY = 200  # about one request in this many prunes the nonce ledger


def _refused(exc: SignatureRejected) -> Unauthorized:
    return Unauthorized(f"request signature refused: {exc.reason}", {"reason": exc.reason})


class _FirstUseAssumed:
    """The signature check runs before the nonce is stored (in the request's transaction)."""

    def first_use(self, node_id: str, nonce: str, timestamp_ms: int) -> bool:
        return True


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target: str
    body: bytes
    headers: Mapping[str, str]


class EnrollSite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    jurisdiction: str = Field(min_length=1, max_length=64)
    timezone: str = Field(min_length=1, max_length=64)
    address: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=16, max_length=200)
    node_id: str = Field(min_length=1, max_length=128)
    public_key: str = Field(min_length=40, max_length=64)
    generation: str = Field(min_length=1, max_length=128)
    site: EnrollSite


def _verify(key: str, request: SignedRequest, now: datetime, skew_ms: int) -> str:
    try:
        return verify_request(
            key,
            request.method,
            request.target,
            request.body,
            request.headers,
            epoch_ms(now),
            _FirstUseAssumed(),
            skew_ms,
        )
    except SignatureRejected as exc:
        raise _refused(exc) from None
    except ValueError:
        raise Unauthorized("the node's registered key is unusable") from None


_NODE_AND_NONCE = (  # one round trip: the node, and its request's nonce taken if it is new
    "WITH taken AS (INSERT INTO request_nonce (node_id, nonce, seen_at) SELECT id, $2, $3"
    " FROM node WHERE id = $1 ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT id, site_id, name, public_key, generation, enrolled_at, revoked_at, last_seen_at,"
    " high_water, reported_outbox_depth, reported_oldest_unsent_at, clock_offset_ms,"
    " audit_gap_after, (SELECT count(*) FROM taken) AS fresh FROM node WHERE id = $1"
)


async def authenticate(
    session: AsyncSession, request: SignedRequest, now: datetime, skew_ms: int, ttl_s: int
) -> Node:
    """The enrolled, unrevoked node that signed ``request`` (401 otherwise).

    The nonce is taken in the same statement that reads the node; a request refused for any
    reason rolls its transaction back, nonce included, so only a verified request spends one.
    """
    try:
        node_id = claimed_node(request.headers)
    except SignatureRejected as exc:
        raise _refused(exc) from None
    nonce = next((v for k, v in request.headers.items() if k.lower() == "x-prep-nonce"), None)
    if not nonce:
        raise Unauthorized("request refused: the request carries no nonce")
    conn = await driver(session)
    row = await conn.fetchrow(_NODE_AND_NONCE, node_id, nonce, now)  # no ORM: every request
    if row is None:
        raise Unauthorized("unknown node: enrol it first")
    fields = dict(row)
    fresh = fields.pop("fresh")
    node = Node(**fields)
    if node.revoked_at is not None:
        raise Unauthorized("this node has been revoked")
    _verify(node.public_key, request, now, skew_ms)
    if not fresh:
        raise Unauthorized("request refused: this nonce was used before (a replay)")
    if random.randrange(PRUNE_EVERY) == 0:  # noqa: S311 - load spreading, not a secret
        await conn.execute(
            "DELETE FROM request_nonce WHERE seen_at < $1", now - timedelta(seconds=ttl_s)
        )
    return node


async def enroll(
    session: AsyncSession,
    data: EnrollRequest,
    request: SignedRequest,
    now: datetime,
    skew_ms: int,
    refdb_key_pem: str | None = None,
) -> dict[str, Any]:
    """Register the node and its key; the token's site takes the edge's site id."""
    if _verify(data.public_key, request, now, skew_ms) != data.node_id:
        raise Unauthorized("the signing node is not the node being enrolled")
    conn = await driver(session)
    token = await conn.fetchrow(
        "SELECT id, site_id, expires_at, used_at FROM enrollment_token WHERE token_hash = $1"
        " FOR UPDATE",
        token_hash(data.token),
    )
    if token is None or token["used_at"] is not None or token["expires_at"] <= now:
        raise Unauthorized("the enrolment token is unknown, used or expired")
    if await session.get(Node, data.node_id) is not None:
        raise Conflict("this node is already enrolled", {"node_id": data.node_id})
    site_id = await _adopt_site_id(conn, token["site_id"], data.site)
    await conn.execute(
        "INSERT INTO node (id, site_id, name, public_key, generation, enrolled_at, high_water)"
        " VALUES ($1, $2, $3, $4, $5, $6, 0)",
        data.node_id,
        site_id,
        data.site.name,
        data.public_key,
        data.generation,
        now,
    )
    await conn.execute(
        "UPDATE enrollment_token SET used_at = $2, used_by_node = $3 WHERE id = $1",
        token["id"],
        now,
        data.node_id,
    )
    return {
        "node_id": data.node_id,
        "site_id": site_id,
        "hub_time_ms": epoch_ms(now),
        "refdb_public_key": refdb_key_pem,  # the key the fleet's reference bundles carry
    }


async def _adopt_site_id(conn: Any, hub_site: str, site: EnrollSite) -> str:
    """Give the token's (new, empty) hub site the edge's site id and the edge's details."""
    if hub_site == site.id:
        return hub_site
    used = await conn.fetchval(
        "SELECT (SELECT count(*) FROM node WHERE site_id = $1)"
        " + (SELECT count(*) FROM resource WHERE site_id = $1)"
        " + (SELECT count(*) FROM booking WHERE site_id = $1)",
        hub_site,
    )
    if used:
        raise Conflict(
            "this hub site already has an edge or data; a replacement edge must be set up "
            "from the hub's copy",
            {"site_id": hub_site},
        )
    if await conn.fetchval("SELECT 1 FROM site WHERE id = $1", site.id):
        raise Conflict("another hub site already has this edge's site id", {"site_id": site.id})
    await conn.execute(
        "INSERT INTO site (id, name, jurisdiction, timezone, address, latitude, longitude,"
        " profile, field_stamps, updated_hlc) SELECT $2, name, $3, $4, $5, $6, $7, profile,"
        " field_stamps, updated_hlc FROM site WHERE id = $1",
        hub_site,
        site.id,
        site.jurisdiction,
        site.timezone,
        site.address,
        site.latitude,
        site.longitude,
    )
    for table in ("enrollment_token", "hub_user"):
        await conn.execute(f"UPDATE {table} SET site_id = $2 WHERE site_id = $1", hub_site, site.id)  # noqa: S608
    await conn.execute("DELETE FROM site WHERE id = $1", hub_site)
    return site.id
