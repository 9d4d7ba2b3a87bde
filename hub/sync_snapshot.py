"""Snapshot: the current state of a node's buckets, a page at a time (``GET /sync/v1/snapshot``).

A node below its site's feed horizon, or a new one with more than a page of feed to catch up,
bootstraps from here instead of replaying the feed. The first page fixes ``as_of``: the site's
feed position (never below its horizon) read before any table, so every page is complete up to
it; a row may already show a later change, which the feed after ``as_of`` brings again and the
edge's merge rules make harmless (status only moves forward, newer stamps win). The node pulls
from ``as_of`` once the last page is in.

Tables go in the order an edge applies them (``sync.snapshot.TABLES``), each read with a keyset
(one index range scan per table) and returned by PostgreSQL as one array per column, so no row
object is built here either: resources of the site, renters booked there
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
    return f"to_char(t.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


@dataclass(frozen=True)
class _Section:
    """How one table is read: its wire columns (SQL expressions over ``t``), where from, the
    keyset order, the key before the first row and the key's columns."""

    columns: tuple[tuple[str, str], ...]
    source: str  # "<table> AS t WHERE ..." with $1 the site, then the key parameters
    order: str
    start: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def query(self) -> str:
        """One row: the page's row count and one array per column (no row objects here)."""
        limit = f"${2 + len(self.start)}"
        inner = ", ".join(f"{expr} AS {name}" for name, expr in self.columns)
        arrays = ", ".join(f"array_agg({name}) AS {name}" for name, _ in self.columns)
        return (
            f"SELECT count(*) AS n, {arrays} FROM (SELECT {inner} FROM {self.source}"  # noqa: S608
            f" ORDER BY {self.order} LIMIT {limit}) AS page"
        )


def _plain(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, f"t.{name}") for name in names)


def _instants(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, _utc(name)) for name in names)


_SECTIONS: dict[str, _Section] = {
    "resource": _Section(
        _plain("id", "name", "kind", "hourly_rate_cents", "active", "updated_hlc"),
        "resource AS t WHERE t.site_id = $1 AND t.id > $2",
        "t.id",
        ("",),
        ("id",),
    ),
    "renter": _Section(
        (
            *_plain("id", "name"),
            ("email", "t.email_cipher"),
            ("phone", "t.phone_cipher"),
            ("profile", "t.profile::text"),
            *_plain("updated_hlc"),
        ),
        f"renter AS t WHERE t.id > $2 AND t.id IN ({_BOOKED_HERE})",
        "t.id",
        ("",),
        ("id",),
    ),
    "booking": _Section(
        (
            *_plain("id", "site_id", "resource_id", "renter_id"),
            *_instants("starts_at", "ends_at"),
            *_plain("status"),
            *_instants("hold_expires_at"),
            *_plain("price_cents"),
            ("quote", "t.quote::text"),
            *_plain("paid", "confirmed_hlc", "origin_node"),
            ("created_by", "t.origin_node"),
            *_instants("created_at", "updated_at"),
            *_plain("updated_hlc"),
        ),
        "booking AS t WHERE t.site_id = $1 AND t.starts_at >= $2::text::timestamptz"
        " AND (t.starts_at > $2::text::timestamptz OR t.id > $3)",
        "t.starts_at, t.id",  # the site's own index (site_id, starts_at)
        ("-infinity", ""),
        ("starts_at", "id"),
    ),
    "conflict": _Section(
        (
            *_plain("id", "keeper_id", "loser_id", "rule", "status"),
            ("resolution", "t.resolution->>'summary'"),
            *_instants("created_at", "resolved_at"),
            *_plain("resolved_by", "updated_hlc"),
        ),
        "conflict AS t WHERE t.site_id = $1 AND t.id > $2",
        "t.id",
        ("",),
        ("id",),
    ),
    "document": _Section(
        (
            *_plain("id", "owner_kind", "owner_id", "kind", "number", "issuer"),
            *_instants("issued_at", "expires_at"),
            *_plain("sha256", "size_bytes", "content_type", "filename", "review_status"),
            *_plain("uploaded_by"),
            *_instants("created_at"),
            *_plain("updated_hlc"),
        ),
        "document AS t WHERE t.id > $2 AND ((t.owner_kind = 'site' AND t.owner_id = $1)"
        f" OR (t.owner_kind = 'renter' AND t.owner_id IN ({_BOOKED_HERE})))",
        "t.id",
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
        found = await conn.fetchrow(section.query, node.site_id, *key, budget)
        rows = found["n"]
        if rows:
            tables[table] = _table(table, rows, found, pii)
        if rows == budget:  # maybe more in this table: the next page goes on from here
            key = max(zip(*(found[column] for column in section.key), strict=True))
            next_cursor: str | None = Cursor(at.as_of, table, key).text()
            break
        budget -= rows
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


def _table(name: str, rows: int, found: Any, pii: PiiCipher) -> SnapshotTable:
    """The page's arrays as the table's columns (rows come in the page's key order, and the
    cursor takes the greatest key, so nothing relies on the order of the arrays)."""
    columns: dict[str, Any] = {column: found[column] for column, _ in _SECTIONS[name].columns}
    for column in ("quote", "profile"):
        if column in columns:
            columns[column] = _canonical(columns[column])
    if name == "renter":
        for column in ("email", "phone"):
            columns[column] = [_opened(pii, column, sealed) for sealed in columns[column]]
    return SnapshotTable(name, rows, columns)


def _canonical(texts: list[str]) -> list[str]:
    """PostgreSQL's jsonb text in canonical form, each distinct value converted once."""
    done: dict[str, str] = {}
    for text in texts:
        if text not in done:
            done[text] = canonical_json(json.loads(text))
    return [done[text] for text in texts]


def _opened(pii: PiiCipher, column: str, sealed: bytes | None) -> str | None:
    return pii.open(column, bytes(sealed)) if sealed else None
