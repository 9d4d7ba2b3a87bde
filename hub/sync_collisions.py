"""Pushed bookings meeting the hub's: statuses written, collisions settled by the keeper rule.

A booking the exclusion constraint turns away takes the keeper rule (``sync.merge.keeper``)
against every active booking it overlaps: the loser becomes ``conflict`` and a Conflict record
opens under the pair's own id (``sync.conflicts``), so the edge, settling the same pair when it
pulls, opens the same record. A hold past its expiry holds nothing and lapses
(``hub.bookings.lapse``). What the hub decides goes to the site's feed.
"""

from __future__ import annotations

import json
from typing import Any

from hub.bookings.lapse import LAPSE_MARK, UNMARK, expired, lapse
from hub.errors import Conflict
from hub.sync_feed import HUB, ApplyContext, booking_payload, instant
from hub.tables import OCCUPYING_STATUSES
from sync.conflicts import conflict_id
from sync.hlc import Stamp
from sync.merge import LAPSED, BookingClaim, keeper, keeper_rule
from sync.wire import ConflictNotice

_BOOKING_COLUMNS = (
    "id, site_id, resource_id, renter_id, starts_at, ends_at, status, hold_expires_at,"
    " price_cents, quote, paid, confirmed_hlc, origin_node, created_at, updated_at, updated_hlc"
)


class SlotKeeping(ApplyContext):
    """Writes of booking status and the collision path, for the push applier."""

    def stamp_after(self, *seen: str | None) -> str:
        """A hub stamp that sorts after each of ``seen`` (the HLC merge): the edge takes the
        hub's newer word even if its own clock ran ahead."""
        stamp = Stamp.decode(self.hub_stamp())
        for text in seen:
            try:
                other = Stamp.decode(text) if text else None
            except ValueError:  # not a stamp (seeded by hand): nothing to stay ahead of
                other = None
            if other is not None and (other.wall_ms, other.counter) >= (
                stamp.wall_ms,
                stamp.counter,
            ):
                stamp = Stamp(other.wall_ms, other.counter + 1, HUB)
        self.stamp = stamp
        return stamp.encode()

    async def _set_status(self, booking_id: str, status: str, confirmed: Any, stamp: str) -> None:
        await self.conn.execute(
            "UPDATE booking SET status = $2, confirmed_hlc = COALESCE($3, confirmed_hlc),"  # noqa: S608 - constant SQL
            f" updated_hlc = $4, updated_at = $5, {UNMARK} WHERE id = $1",
            booking_id,
            status,
            confirmed,
            stamp,
            self.now,
        )

    async def _insert_booking(
        self, p: dict[str, Any], origin: str, status: str, *, lapsed: bool = False
    ) -> bool:
        stamps = {LAPSE_MARK: p["updated_hlc"]} if lapsed else {}
        inserted = await self.conn.fetchval(
            "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
            " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
            " updated_at, updated_hlc, field_stamps) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10::jsonb, false, $11, $12, $13, $14, $15, $16::jsonb)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            p["id"],
            p.get("site_id") or self.node.site_id,
            p["resource_id"],
            p["renter_id"],
            instant(p["starts_at"]),
            instant(p["ends_at"]),
            status,
            instant(p.get("hold_expires_at")),
            int(p.get("price_cents") or 0),
            json.dumps(p.get("quote") or {}),
            p.get("confirmed_hlc"),
            origin,
            instant(p.get("created_at")) or self.now,
            instant(p.get("updated_at")) or self.now,
            p["updated_hlc"],
            json.dumps(stamps),
        )
        if inserted is None:
            await self._collide(p, origin, status, known=False)
        return inserted is not None

    async def _collide(self, p: dict[str, Any], origin: str, status: str, *, known: bool) -> None:
        """``p`` overlaps active bookings: the keeper rule settles each pair.

        If any of them beats the incoming booking, the incoming one is set aside (and nobody
        else moves); otherwise every booking it beat is set aside and it takes the slot.
        """
        if expired(status, instant(p.get("hold_expires_at")), self.now):
            await self._lapse_incoming(p, origin, known=known)
            return
        others = await self._rivals(p)
        if not others:  # nothing collides (any more): the booking goes in as it is
            await self._place(p, origin, status, known=known)
            return
        mine = BookingClaim(p["id"], origin, status, False, p.get("confirmed_hlc"))
        decisions = []
        for other in others:
            theirs = BookingClaim(
                other["id"],
                other["origin_node"],
                other["status"],
                other["paid"],
                other["confirmed_hlc"],
            )
            won = keeper(mine, theirs).booking_id == mine.booking_id
            decisions.append((theirs.booking_id, won, keeper_rule(mine, theirs)))
        incoming_loses = not all(won for _, won, _ in decisions)
        for other_id, won, rule in decisions:
            if incoming_loses and not won:
                await self._open_conflict(other_id, mine.booking_id, rule)
            elif not incoming_loses:
                await self._set_aside(other_id)
                await self._open_conflict(mine.booking_id, other_id, rule)
        final = "conflict" if incoming_loses else status
        if known:
            stamp = self.hub_stamp() if incoming_loses else p["updated_hlc"]
            await self._set_status(p["id"], final, p.get("confirmed_hlc"), stamp)
        else:
            await self._insert_booking(p, origin, final)
        if incoming_loses:
            await self._feed_booking(p["id"])

    async def _lapse_incoming(self, p: dict[str, Any], origin: str, *, known: bool) -> None:
        """A hold that expired before it reached the hub holds nothing here either."""
        if known:
            await self._lapse([p["id"]])
            return
        if await self.conn.fetchval("SELECT 1 FROM booking WHERE id = $1", p["id"]):
            raise Conflict("a booking with this id already exists", {"id": p["id"]})
        await self._insert_booking(p, origin, "cancelled", lapsed=True)
        await self._feed_booking(p["id"], lapsed=True)

    async def _lapse(self, ids: list[str]) -> None:
        self.result.feed.extend(await lapse(self.conn, ids, self.hub_stamp(), self.now, HUB))

    async def _rivals(self, p: dict[str, Any]) -> list[Any]:
        """Active bookings overlapping ``p``, in a stable order; a hold past its expiry lapses
        here (it holds nothing)."""
        others = await self._occupying(p)
        gone = [o["id"] for o in others if expired(o["status"], o["hold_expires_at"], self.now)]
        await self._lapse(gone)
        return [o for o in others if o["id"] not in gone]

    async def _place(self, p: dict[str, Any], origin: str, status: str, *, known: bool) -> None:
        if await self.conn.fetchval("SELECT 1 FROM booking WHERE id = $1", p["id"]):
            if not known:
                raise Conflict("a booking with this id already exists", {"id": p["id"]})
            await self._set_status(p["id"], status, p.get("confirmed_hlc"), p["updated_hlc"])
        else:
            await self._insert_booking(p, origin, status)

    async def _occupying(self, p: dict[str, Any]) -> list[Any]:
        return list(
            await self.conn.fetch(
                "SELECT id, status, paid, confirmed_hlc, origin_node, hold_expires_at FROM booking"
                " WHERE resource_id = $1 AND id != $2 AND status = ANY($3::text[])"
                " AND tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)')"
                " ORDER BY starts_at, id FOR UPDATE",
                p["resource_id"],
                p["id"],
                list(OCCUPYING_STATUSES),
                instant(p["starts_at"]),
                instant(p["ends_at"]),
            )
        )

    async def _set_aside(self, booking_id: str) -> None:
        await self._set_status(booking_id, "conflict", None, self.hub_stamp())
        await self._feed_booking(booking_id)

    async def _feed_booking(self, booking_id: str, *, lapsed: bool = False) -> None:
        row = await self.conn.fetchrow(
            f"SELECT {_BOOKING_COLUMNS} FROM booking WHERE id = $1",  # noqa: S608 - constant
            booking_id,
        )
        payload = booking_payload(row)
        if lapsed:
            payload[LAPSED] = True
        self.result.feed.append(
            ("booking", booking_id, "upsert", payload, payload["updated_hlc"], HUB)
        )

    async def _open_conflict(self, keeper_id: str, loser_id: str, rule: str) -> None:
        ident = conflict_id(keeper_id, loser_id)
        stamp = self.hub_stamp()
        created = await self.conn.fetchval(  # new, or decided again the other way round
            "INSERT INTO conflict (id, site_id, keeper_id, loser_id, rule, status, created_at,"
            " updated_hlc) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)"
            " ON CONFLICT (id) DO UPDATE SET keeper_id = excluded.keeper_id,"
            " loser_id = excluded.loser_id, rule = excluded.rule, status = 'open',"
            " resolution = NULL, resolved_at = NULL, resolved_by = NULL,"
            " updated_hlc = excluded.updated_hlc WHERE conflict.keeper_id != excluded.keeper_id"
            " RETURNING 1",
            ident,
            self.node.site_id,
            keeper_id,
            loser_id,
            rule,
            self.now,
            stamp,
        )
        self.result.conflicts.append(
            ConflictNotice(conflict_id=ident, keeper_id=keeper_id, loser_id=loser_id, rule=rule)
        )
        if created:
            payload = {
                "id": ident,
                "keeper_id": keeper_id,
                "loser_id": loser_id,
                "rule": rule,
                "status": "open",
                "resolution": None,
                "created_at": self.now.isoformat(),
                "resolved_at": None,
                "resolved_by": None,
                "updated_hlc": stamp,
            }
            self.result.feed.append(("conflict", ident, "upsert", payload, stamp, HUB))
