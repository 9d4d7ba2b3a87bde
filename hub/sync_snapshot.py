"""Snapshot: the current state of a node's buckets, a page at a time (``GET /sync/v1/snapshot``).

A node below its site's feed horizon, or a new one with more than a page of feed to catch up,
bootstraps from here instead of replaying the feed. The first page fixes ``as_of``: the site's
feed position (never below its horizon) read before any table, so every page is complete up to
it; a row may already show a later change, which the feed after ``as_of`` brings again and the
edge's merge rules make harmless (status only moves forward, newer stamps win). The node pulls
from ``as_of`` once the last page is in.

Tables go in the order an edge applies them (``sync.snapshot.TABLES``), each read with a keyset
so a page costs one index range scan per table: resources of the site, renters booked there
(contact details opened from their at-rest seal into this signed answer only), the site's
bookings by ``(starts_at, id)`` (the site's own index), its conflicts, and document metadata of
the site and of those renters. A page holds up to ``limit`` rows across tables; its cursor is
``[as_of, table, *key]`` as JSON text, opaque to the edge. A cursor whose ``as_of`` has fallen
below the horizon meanwhile is refused (409 ``snapshot_expired``): the edge starts over.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.clock import epoch_ms
from hub.errors import Conflict, InvalidInput
from hub.sync_feed import driver
from hub.tables import Node
from sync.pii import PiiCipher
from sync.snapshot import SnapshotPage, SnapshotTable, canonical_json

SNAPSHOT_PAGE = 20_000
MAX_SNAPSHOT_PAGE = 50_000
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_BOOKED_HERE = "SELECT renter_id FROM booking WHERE site_id = $1"


class SnapshotExpired(Conflict):
    """The snapshot being read is older than the site's horizon now: start a new one."""

    code = "snapshot_expired"


def _utc(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS {column}"


@dataclass(frozen=True)
class _Section:
    query: str  # $1 the site, then the key, then the row limit
    start: tuple[str, ...]  # the key before the first row
    key: tuple[str, ...]  # the columns of the key, read from the last row


_SECTIONS: dict[str, _Section] = {
    "resource": _Section(
        "SELECT id, name, kind, hourly_rate_cents, active, updated_hlc FROM resource"
        " WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        ("",),
        ("id",),
    ),
    "renter": _Section(
        "SELECT id, name, email_cipher AS email, phone_cipher AS phone, profile::text AS profile,"  # noqa: S608 - constant SQL
        f" updated_hlc FROM renter WHERE id > $2 AND id IN ({_BOOKED_HERE}) ORDER BY id LIMIT $3",
        ("",),
        ("id",),
    ),
    "booking": _Section(
        f"SELECT id, site_id, resource_id, renter_id, {_utc('starts_at')}, {_utc('ends_at')},"  # noqa: S608 - constant SQL
        f" status, {_utc('hold_expires_at')}, price_cents, quote::text AS quote, paid,"
        " confirmed_hlc, origin_node, origin_node AS created_by,"
        f" {_utc('created_at')}, {_utc('updated_at')}, updated_hlc FROM booking"
        " WHERE site_id = $1 AND starts_at >= $2::text::timestamptz"
        " AND (starts_at > $2::text::timestamptz OR id > $3) ORDER BY starts_at, id LIMIT $4",
        ("-infinity", ""),
        ("starts_at", "id"),
    ),
    "conflict": _Section(
        "SELECT id, keeper_id, loser_id, rule, status, resolution->>'summary' AS resolution,"  # noqa: S608 - constant SQL
        f" {_utc('created_at')}, {_utc('resolved_at')}, resolved_by, updated_hlc FROM conflict"
        " WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        ("",),
        ("id",),
    ),
    "document": _Section(
        "SELECT id, owner_kind, owner_id, kind, number, issuer, "  # noqa: S608 - constant SQL
        f"{_utc('issued_at')}, {_utc('expires_at')}, sha256, size_bytes, content_type, filename,"
        f" review_status, uploaded_by, {_utc('created_at')}, updated_hlc FROM document"
        " WHERE id > $2 AND ((owner_kind = 'site' AND owner_id = $1)"
        f" OR (owner_kind = 'renter' AND owner_id IN ({_BOOKED_HERE}))) ORDER BY id LIMIT $3",
        ("",),
        ("id",),
    ),
}
_ORDER = list(_SECTIONS)  # the order of sync.snapshot.TABLES (a test keeps them in step)


@dataclass(frozen=True)
class Cursor:
    as_of: int
    table: str
    key: tuple[str, ...]

    def text(self) -> str:
        return json.dumps([self.as_of, self.table, *self.key], separators=(",", ":"))


def parse_cursor(text: str) -> Cursor:
    """A cursor this hub wrote (``InvalidInput`` for anything else)."""
    try:
        parts = json.loads(text)
    except ValueError:
        parts = None
    if not (isinstance(parts, list) and len(parts) >= 2 and parts[1] in _SECTIONS):
        raise InvalidInput("not a snapshot cursor")
    as_of, table, key = parts[0], parts[1], tuple(parts[2:])
    section = _SECTIONS[table]
    valid = (
        type(as_of) is int
        and as_of >= 0
        and len(key) == len(section.start)
        and all(type(part) is str and len(part) <= 200 for part in key)
        and (table != "booking" or key[0] == "-infinity" or bool(_INSTANT.fullmatch(key[0])))
    )
    if not valid:
        raise InvalidInput("not a snapshot cursor")
    return Cursor(as_of, table, key)


async def snapshot_page(
    session: AsyncSession,
    node: Node,
    cursor: str | None,
    limit: int,
    now: datetime,
    pii: PiiCipher,
) -> SnapshotPage:
    """Up to ``limit`` rows of the node's buckets after ``cursor`` (from the start if None)."""
    conn = await driver(session)
    at = parse_cursor(cursor) if cursor else await _start(conn, node.site_id)
    horizon = await conn.fetchval("SELECT feed_horizon FROM site WHERE id = $1", node.site_id)
    if at.as_of < (horizon or 0):
        raise SnapshotExpired(
            "the snapshot is older than the site's feed horizon now; start a new one",
            {"as_of": at.as_of, "horizon": horizon},
        )
    tables: dict[str, SnapshotTable] = {}
    table, key, budget = at.table, at.key, limit
    while True:
        section = _SECTIONS[table]
        rows = await conn.fetch(section.query, node.site_id, *key, budget)
        if rows:
            tables[table] = _table(table, rows, pii)
        if len(rows) == budget:  # maybe more in this table: the next page goes on from here
            key = tuple(rows[-1][column] for column in section.key)
            next_cursor: str | None = Cursor(at.as_of, table, key).text()
            break
        budget -= len(rows)
        following = _ORDER.index(table) + 1
        if following == len(_ORDER):
            next_cursor = None
            break
        table = _ORDER[following]
        key = _SECTIONS[table].start
    return SnapshotPage(at.as_of, next_cursor, epoch_ms(now), tables)


async def _start(conn: asyncpg.Connection, site_id: str) -> Cursor:
    """A new snapshot: complete up to the site's feed position now (never below its horizon)."""
    as_of = await conn.fetchval(
        "SELECT GREATEST((SELECT COALESCE(max(hub_seq), 0) FROM feed WHERE site_id = $1),"
        " (SELECT feed_horizon FROM site WHERE id = $1))",
        site_id,
    )
    first = _ORDER[0]
    return Cursor(int(as_of or 0), first, _SECTIONS[first].start)


def _table(name: str, rows: list[Any], pii: PiiCipher) -> SnapshotTable:
    columns: dict[str, Any] = dict(
        zip(rows[0].keys(), map(list, zip(*rows, strict=True)), strict=True)
    )
    for column in ("quote", "profile"):
        if column in columns:
            columns[column] = _canonical(columns[column])
    if name == "renter":
        for column in ("email", "phone"):
            columns[column] = [_opened(pii, column, sealed) for sealed in columns[column]]
    return SnapshotTable(name, len(rows), columns)


def _canonical(texts: list[str]) -> list[str]:
    """PostgreSQL's jsonb text in canonical form, each distinct value converted once."""
    done: dict[str, str] = {}
    for text in texts:
        if text not in done:
            done[text] = canonical_json(json.loads(text))
    return [done[text] for text in texts]


def _opened(pii: PiiCipher, column: str, sealed: bytes | None) -> str | None:
    return pii.open(column, bytes(sealed)) if sealed else None
