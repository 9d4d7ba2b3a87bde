"""The hub's change store on PostgreSQL: a site's feed is its log, ``node.high_water`` the marks.

A store wraps the asyncpg connection of one open transaction (``hub.sync_feed.driver``) and one
site. ``append`` takes the site's advisory lock (the lock every writer of the site takes, held
until commit) before it draws ``hub_seq``s, so a site's feed rows commit in ``hub_seq`` order and
a reader paging by its last ``hub_seq`` never skips one. ``hub_seq`` is one identity shared by
all sites, so a site's seqs ascend with holes. The marks are the ``high_water`` of the site's
enrolled nodes: ``claim`` locks the node row (``FOR UPDATE``) until the transaction ends, so two
pushes of one node never apply the same ``(node_id, seq)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from sync.change_store import Claim, NewChange, StoredChange, UnknownOrigin, sort_batch

_json = msgspec.json.Encoder().encode
_read = msgspec.json.Decoder(dict[str, object]).decode
SITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext($1))"  # keyed f"site:{site_id}"

_APPEND = (
    "INSERT INTO feed (site_id, entity, entity_id, op, payload, hlc, origin, at)"
    " SELECT $1, entity, entity_id, op, payload::jsonb, hlc, origin, $8"
    " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])"
    " WITH ORDINALITY AS change (entity, entity_id, op, payload, hlc, origin, position)"
    " ORDER BY position RETURNING hub_seq"
)
_AFTER = (
    "SELECT hub_seq, hlc, origin, entity, entity_id, op, payload FROM feed"
    " WHERE site_id = $1 AND hub_seq > $2 ORDER BY hub_seq LIMIT $3"
)
_MARK = "SELECT high_water FROM node WHERE id = $1 AND site_id = $2"
_LOCK_MARK = f"{_MARK} FOR UPDATE"
_MOVE_MARK = (
    "UPDATE node SET high_water = greatest(high_water, $3) WHERE id = $1 AND site_id = $2"
    " RETURNING high_water"
)


class PostgresChangeStore:
    """A site's feed and its nodes' high-water marks, on one transaction's connection."""

    contiguous = False

    def __init__(self, conn: asyncpg.Connection, site_id: str) -> None:
        self.conn = conn
        self.site_id = site_id

    async def append(self, changes: Sequence[NewChange], at: datetime) -> list[int]:
        if not changes:
            return []
        await self.conn.execute(SITE_LOCK, f"site:{self.site_id}")
        rows = await self.conn.fetch(
            _APPEND,
            self.site_id,
            [change.entity for change in changes],
            [change.entity_id for change in changes],
            [change.op for change in changes],
            [_json(change.payload).decode() for change in changes],
            [change.hlc for change in changes],
            [change.origin for change in changes],
            at,
        )
        return sorted(row["hub_seq"] for row in rows)  # drawn in position order

    async def read_after(self, cursor: int, limit: int) -> list[StoredChange]:
        rows = await self.conn.fetch(_AFTER, self.site_id, cursor, limit)
        return [
            StoredChange(
                seq=row["hub_seq"],
                origin=row["origin"],
                hlc=row["hlc"],
                entity=row["entity"],
                entity_id=row["entity_id"],
                op=row["op"],
                payload=_decoded(row["payload"]),
            )
            for row in rows
        ]

    async def applied_mark(self, origin: str) -> int:
        return await self._mark(_MARK, origin)

    async def claim(self, origin: str, seqs: Sequence[int], after: int | None = None) -> Claim:
        return sort_batch(await self._mark(_LOCK_MARK, origin), seqs, after)

    async def mark_applied(self, origin: str, through: int) -> int:
        mark = await self.conn.fetchval(_MOVE_MARK, origin, self.site_id, through)
        if mark is None:
            raise self._unknown(origin)
        return int(mark)

    async def _mark(self, query: str, origin: str) -> int:
        mark = await self.conn.fetchval(query, origin, self.site_id)
        if mark is None:
            raise self._unknown(origin)
        return int(mark)

    def _unknown(self, origin: str) -> UnknownOrigin:
        return UnknownOrigin(f"{origin!r} is not a node enrolled at site {self.site_id!r}")


def _decoded(payload: str | dict[str, object]) -> dict[str, object]:
    return _read(payload) if isinstance(payload, str) else payload
