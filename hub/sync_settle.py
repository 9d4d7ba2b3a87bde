"""Conflicts settled when their keeper leaves the slot: the booking set aside gets it back.

The hub judges a collision on what it knows when a push lands. An edge offline for a while may
push a booking's check-in in one batch and its check-out in the next, and a booking sold online
in between loses to the check-in, though the renter who checked out needs the station no more.
So when a keeper leaves its slot (checked out, cancelled, no-show: ``FREEING_STATUSES``), each
open conflict it kept closes as settled, and the booking it set aside gets its slot back: onto
the slot if nothing else holds it, else into the keeper rule against what does. That is what a
batch holding the whole history gives (a checked-out booking collides with nothing), so the
outcome does not depend on how the edge cut its outbox into batches. If the keeper really was on
the station when the other was sold, the other renter still gets the rest of the slot, and the
settled record stays for the host to see. Only the hub settles; edges take its word
(``sync.merge.pulled_status``).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from hub.bookings.lapse import expired
from hub.conflicts import conflict_payload
from hub.sync_collisions import SlotKeeping
from hub.sync_feed import HUB, booking_payload

SETTLED_BY = "hub"


class Settling(SlotKeeping):
    async def settle_left(self, left: list[str], seen: str | None) -> None:
        """Settle the open conflicts kept by bookings that just left their slots; ``seen`` is
        the newest stamp of the push, so the hub's word sorts after the edge's own."""
        if not left:
            return
        kept = await self.conn.fetch(
            "SELECT id, keeper_id, loser_id, updated_hlc FROM conflict WHERE status = 'open'"
            " AND keeper_id = ANY($1::text[]) ORDER BY id FOR UPDATE",
            left,
        )
        for conflict in kept:
            await self._close_settled(conflict, seen)
        for conflict in kept:
            await self._give_back(conflict["loser_id"], seen)

    async def _close_settled(self, conflict: Any, seen: str | None) -> None:
        status = await self.conn.fetchval(
            "SELECT status FROM booking WHERE id = $1", conflict["keeper_id"]
        )
        summary = f"settled: {conflict['keeper_id']} left the slot ({status})"
        row = await self.conn.fetchrow(
            "UPDATE conflict SET status = 'resolved', resolution = $2::jsonb, resolved_at = $3,"
            " resolved_by = $4, updated_hlc = $5 WHERE id = $1 RETURNING *",
            conflict["id"],
            json.dumps({"summary": summary}),
            self.now,
            SETTLED_BY,
            self.stamp_after(conflict["updated_hlc"], seen),
        )
        payload = conflict_payload(row, summary)
        self.result.feed.append(
            ("conflict", row["id"], "upsert", payload, payload["updated_hlc"], HUB)
        )

    async def _give_back(self, booking_id: str, seen: str | None) -> None:
        """The set-aside booking goes back to what it was (confirmed, or a hold), unless another
        open conflict still keeps it waiting."""
        row = await self.conn.fetchrow(
            "SELECT id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
            " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
            " updated_at, updated_hlc FROM booking WHERE id = $1 FOR UPDATE",
            booking_id,
        )
        if row is None or row["status"] != "conflict":
            return
        waiting = await self.conn.fetchval(
            "SELECT 1 FROM conflict WHERE loser_id = $1 AND status = 'open' LIMIT 1", booking_id
        )
        if waiting:
            return
        status = "confirmed" if row["confirmed_hlc"] else "hold"
        p = {**booking_payload(row), "updated_hlc": self.stamp_after(row["updated_hlc"], seen)}
        if expired(status, row["hold_expires_at"], self.now):
            await self._lapse([booking_id])
            return
        try:
            async with self.conn.transaction():
                await self._set_status(booking_id, status, None, p["updated_hlc"])
        except asyncpg.ExclusionViolationError:
            await self._collide(p, row["origin_node"], status, known=True)
        if await self.conn.fetchval("SELECT status FROM booking WHERE id = $1", booking_id) != (
            "conflict"
        ):  # set aside again, it went to the feed already
            await self._feed_booking(booking_id)
