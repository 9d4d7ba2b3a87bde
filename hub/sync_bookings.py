"""Pushed bookings on the hub: folded per booking, inserted in bulk, collisions settled.

New bookings go in with one plain insert (``ON CONFLICT DO NOTHING`` when some collide); the
ones the exclusion constraint turns away take the keeper rule (``hub.sync_collisions``). Moves
off a slot in a batch are applied before its new bookings; a keeper that leaves its slot gives
it back to the booking it set aside (``hub.sync_settle``). A hold the hub lapsed is taken back
by its edge's confirmation (``hub.bookings.lapse``).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from hub.bookings.lapse import CANCELLED, IS_LAPSED, UNMARK, pushed_status
from hub.sync_feed import instant
from hub.sync_settle import Settling
from hub.tables import OCCUPYING_STATUSES
from sync.merge import FREEING_STATUSES, merge_status
from sync.wire import Change

_INSERT_BOOKINGS = (
    "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
    " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
    " updated_at, updated_hlc, field_stamps)"
    " SELECT id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
    " hold_expires_at, price_cents, quote::jsonb, false, confirmed_hlc, origin_node,"
    " created_at, created_at, updated_hlc, '{}'::jsonb FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],"
    " $7::text[], $8::timestamptz[], $9::bigint[], $10::text[], $11::text[], $12::text[],"
    " $13::timestamptz[], $14::text[]) AS t(id, site_id, resource_id, renter_id,"
    " starts_at, ends_at, status, hold_expires_at, price_cents, quote, confirmed_hlc,"
    " origin_node, created_at, updated_hlc)"
)


def _fold(changes: list[Change]) -> dict[str, dict[str, Any]]:
    """One payload per booking: the latest, with status folded forward over all of them."""
    folded: dict[str, dict[str, Any]] = {}
    for change in changes:
        payload = dict(change.payload)
        earlier = folded.get(change.entity_id)
        if earlier is not None:
            payload["status"] = merge_status(earlier["status"], payload["status"])
            payload["confirmed_hlc"] = earlier.get("confirmed_hlc") or payload.get("confirmed_hlc")
        folded[change.entity_id] = payload
    return folded


def _moved(current: Any, p: dict[str, Any]) -> tuple[str, str | None]:
    """Status and confirmation of a known booking once its pushed state lands."""
    status = pushed_status(current["status"], current["lapsed"], p["status"])
    return status, current["confirmed_hlc"] or p.get("confirmed_hlc")


Update = tuple[str, str, str | None, str]  # id, status, confirmed_hlc, updated_hlc


def _sort_known(
    folded: dict[str, dict[str, Any]], known: dict[str, Any]
) -> tuple[list[Update], list[dict[str, Any]], list[str]]:
    """Known bookings that move: updated together, or one by one when coming back onto their
    slot; and the ids of those leaving their slot."""
    updates: list[Update] = []
    one_by_one: list[dict[str, Any]] = []
    left: list[str] = []
    for ident, p in folded.items():
        current = known.get(ident)
        if current is None:
            continue
        status, confirmed = _moved(current, p)
        if (status, confirmed) == (current["status"], current["confirmed_hlc"]):
            continue
        if status in OCCUPYING_STATUSES and current["status"] not in OCCUPYING_STATUSES:
            one_by_one.append(p)
            continue
        updates.append((ident, status, confirmed, max(current["updated_hlc"], p["updated_hlc"])))
        if status in FREEING_STATUSES and current["status"] not in FREEING_STATUSES:
            left.append(ident)
    return updates, one_by_one, left


def _newest_stamp(changes: list[Change]) -> str:
    return max(change.hlc for change in changes)


class BookingApplier(Settling):
    async def bookings(self, changes: list[Change]) -> None:
        """The batch's booking changes, folded per booking, applied with a few statements.

        New bookings go in with one ``INSERT ... ON CONFLICT DO NOTHING``; the ones the
        exclusion constraint turns away take the per-booking collision path. Known bookings
        whose status moves forward are updated together, except one coming back onto its slot
        (it may collide), which takes the per-booking path. Last, the conflicts kept by
        bookings that left their slots are settled.
        """
        if not changes:
            return
        folded = _fold(changes)
        known = {
            row["id"]: row
            for row in await self.conn.fetch(
                f"SELECT id, status, confirmed_hlc, updated_hlc, {IS_LAPSED} FROM booking"  # noqa: S608 - constant SQL
                " WHERE id = ANY($1::text[]) FOR UPDATE",
                list(folded),
            )
        }
        fresh = [p for ident, p in folded.items() if ident not in known]
        updates, one_by_one, left = _sort_known(folded, known)
        await self._update_many(updates)  # first: a slot left in this batch is free for the rest
        inserted = await self._insert_many(fresh)
        for p in fresh:
            if p["id"] not in inserted:
                await self._collide(
                    p, p.get("origin_node") or self.node.id, p["status"], known=False
                )
        for p in one_by_one:
            await self._onto_slot(p)
        for ident, p in folded.items():
            row = known.get(ident)
            if row is not None and row["lapsed"] and _moved(row, p)[0] != CANCELLED:
                await self._feed_booking(ident)  # taken back: the hub's word after its lapse
        await self.settle_left(left, _newest_stamp(changes))

    async def _update_many(self, updates: list[Update]) -> None:
        if updates:
            await self.conn.execute(
                "UPDATE booking AS b SET status = u.status,"  # noqa: S608 - constant SQL
                " confirmed_hlc = COALESCE(u.confirmed, b.confirmed_hlc), updated_hlc = u.stamp,"
                f" updated_at = $5, {UNMARK} FROM unnest($1::text[], $2::text[], $3::text[],"
                " $4::text[]) AS u(id, status, confirmed, stamp) WHERE b.id = u.id",
                *map(list, zip(*updates, strict=True)),
                self.now,
            )

    async def _insert_many(self, fresh: list[dict[str, Any]]) -> set[str]:
        if not fresh:
            return set()
        columns: list[list[Any]] = [[] for _ in range(14)]
        for p in fresh:
            values = (
                p["id"],
                p.get("site_id") or self.node.site_id,
                p["resource_id"],
                p["renter_id"],
                instant(p["starts_at"]),
                instant(p["ends_at"]),
                p["status"],
                instant(p.get("hold_expires_at")),
                int(p.get("price_cents") or 0),
                json.dumps(p.get("quote") or {}),
                p.get("confirmed_hlc"),
                p.get("origin_node") or self.node.id,
                instant(p.get("created_at")) or self.now,
                p["updated_hlc"],
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        try:  # the common case, nothing collides: a plain insert, no speculative insertion
            async with self.conn.transaction():
                await self.conn.execute(_INSERT_BOOKINGS, *columns)
            return {p["id"] for p in fresh}
        except (asyncpg.ExclusionViolationError, asyncpg.UniqueViolationError):
            pass  # some collide: insert the others, settle the rest one by one
        rows = await self.conn.fetch(
            _INSERT_BOOKINGS + " ON CONFLICT DO NOTHING RETURNING id", *columns
        )
        return {row["id"] for row in rows}

    async def _onto_slot(self, p: dict[str, Any]) -> None:
        """A known booking coming back onto its slot (a set-aside booking checked in, a lapsed
        hold confirmed): it may collide."""
        origin = p.get("origin_node") or self.node.id
        current = await self.conn.fetchrow(
            f"SELECT status, confirmed_hlc, updated_hlc, {IS_LAPSED} FROM booking"  # noqa: S608 - constant SQL
            " WHERE id = $1 FOR UPDATE",
            p["id"],
        )
        status, confirmed = _moved(current, p)
        stamp = max(current["updated_hlc"], p["updated_hlc"])
        try:
            async with self.conn.transaction():
                await self._set_status(p["id"], status, confirmed, stamp)
        except asyncpg.ExclusionViolationError:
            await self._collide(p, origin, status, known=True)
