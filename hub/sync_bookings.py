"""Pushed bookings on the hub: folded per booking, inserted in bulk, collisions settled.

New bookings go in with one plain insert (``ON CONFLICT DO NOTHING`` when some collide); the
ones the exclusion constraint turns away take the keeper rule (``sync.merge.keeper``): the loser
becomes ``conflict`` and a Conflict record opens under the pair's own id. A hold past its expiry
holds nothing and lapses here. Moves off a slot in a batch are applied before its new bookings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from hub.errors import Conflict
from hub.sync_feed import HUB, ApplyContext, booking_payload, instant
from hub.tables import OCCUPYING_STATUSES
from sync.conflicts import conflict_id
from sync.merge import BookingClaim, keeper, keeper_rule, merge_status
from sync.wire import Change, ConflictNotice

_instant = instant

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


def _expired_hold(row: Any, now: datetime) -> bool:
    expires = row["hold_expires_at"]
    return bool(row["status"] == "hold" and expires is not None and expires <= now)


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


class BookingApplier(ApplyContext):
    async def bookings(self, changes: list[Change]) -> None:
        """The batch's booking changes, folded per booking, applied with a few statements.

        New bookings go in with one ``INSERT ... ON CONFLICT DO NOTHING``; the ones the
        exclusion constraint turns away take the per-booking collision path. Known bookings
        whose status moves forward are updated together, except one coming back onto its slot
        (it may collide), which takes the per-booking path.
        """
        if not changes:
            return
        folded = _fold(changes)
        known = {
            row["id"]: row
            for row in await self.conn.fetch(
                "SELECT id, status, confirmed_hlc, updated_hlc FROM booking"
                " WHERE id = ANY($1::text[]) FOR UPDATE",
                list(folded),
            )
        }
        fresh = [p for ident, p in folded.items() if ident not in known]
        updates, one_by_one = [], []
        for ident, p in folded.items():
            current = known.get(ident)
            if current is None:
                continue
            status = merge_status(current["status"], p["status"])
            confirmed = current["confirmed_hlc"] or p.get("confirmed_hlc")
            if (status, confirmed) == (current["status"], current["confirmed_hlc"]):
                continue
            if status in OCCUPYING_STATUSES and current["status"] not in OCCUPYING_STATUSES:
                one_by_one.append(p)
            else:
                updates.append(
                    (ident, status, confirmed, max(current["updated_hlc"], p["updated_hlc"]))
                )
        if updates:  # first: a slot cancelled or left in this batch is free for what follows
            await self.conn.execute(
                "UPDATE booking AS b SET status = u.status,"
                " confirmed_hlc = COALESCE(u.confirmed, b.confirmed_hlc), updated_hlc = u.stamp,"
                " updated_at = $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
                " AS u(id, status, confirmed, stamp) WHERE b.id = u.id",
                *map(list, zip(*updates, strict=True)),
                self.now,
            )
        inserted = await self._insert_many(fresh)
        for p in fresh:
            if p["id"] not in inserted:
                await self._collide(
                    p, p.get("origin_node") or self.node.id, p["status"], known=False
                )
        for p in one_by_one:
            await self.booking(Change(seq=1, hlc=p["updated_hlc"], entity="booking",
                                      entity_id=p["id"], op="upsert", payload=p))  # fmt: skip

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
                _instant(p["starts_at"]),
                _instant(p["ends_at"]),
                p["status"],
                _instant(p.get("hold_expires_at")),
                int(p.get("price_cents") or 0),
                json.dumps(p.get("quote") or {}),
                p.get("confirmed_hlc"),
                p.get("origin_node") or self.node.id,
                _instant(p.get("created_at")) or self.now,
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

    async def booking(self, change: Change) -> None:
        p = change.payload
        origin = p.get("origin_node") or self.node.id
        current = await self.conn.fetchrow(
            "SELECT status, paid, confirmed_hlc, origin_node, updated_hlc FROM booking"
            " WHERE id = $1 FOR UPDATE",
            change.entity_id,
        )
        if current is None:
            await self._insert_booking(p, origin, p["status"])
            return
        status = merge_status(current["status"], p["status"])
        confirmed = current["confirmed_hlc"] or p.get("confirmed_hlc")
        if (status, confirmed) == (current["status"], current["confirmed_hlc"]):
            return
        stamp = max(current["updated_hlc"], p["updated_hlc"])
        occupying_now = status in OCCUPYING_STATUSES and current["status"] not in OCCUPYING_STATUSES
        if occupying_now:  # back onto the slot (a set-aside booking checked in): may collide
            try:
                async with self.conn.transaction():
                    await self._set_status(change.entity_id, status, confirmed, stamp)
            except asyncpg.ExclusionViolationError:
                await self._collide(p, origin, status, known=True)
            return
        await self._set_status(change.entity_id, status, confirmed, stamp)

    async def _set_status(self, booking_id: str, status: str, confirmed: Any, stamp: str) -> None:
        await self.conn.execute(
            "UPDATE booking SET status = $2, confirmed_hlc = COALESCE($3, confirmed_hlc),"
            " updated_hlc = $4,"
            " updated_at = $5 WHERE id = $1",
            booking_id,
            status,
            confirmed,
            stamp,
            self.now,
        )

    async def _insert_booking(self, p: dict[str, Any], origin: str, status: str) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
            " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
            " updated_at, updated_hlc, field_stamps) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10::jsonb, false, $11, $12, $13, $14, $15, '{}'::jsonb)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            p["id"],
            p.get("site_id") or self.node.site_id,
            p["resource_id"],
            p["renter_id"],
            _instant(p["starts_at"]),
            _instant(p["ends_at"]),
            status,
            _instant(p.get("hold_expires_at")),
            int(p.get("price_cents") or 0),
            json.dumps(p.get("quote") or {}),
            p.get("confirmed_hlc"),
            origin,
            _instant(p.get("created_at")) or self.now,
            _instant(p.get("updated_at")) or self.now,
            p["updated_hlc"],
        )
        if inserted is None:
            await self._collide(p, origin, status, known=False)
        return inserted is not None

    async def _collide(self, p: dict[str, Any], origin: str, status: str, *, known: bool) -> None:
        """``p`` overlaps active bookings: the keeper rule settles each pair.

        If any of them beats the incoming booking, the incoming one is set aside (and nobody
        else moves); otherwise every booking it beat is set aside and it takes the slot.
        """
        if status == "hold" and _expired_hold(
            {"status": status, "hold_expires_at": _instant(p.get("hold_expires_at"))}, self.now
        ):  # a hold that expired before it reached the hub holds nothing here either
            await self._place(p, origin, "cancelled", known=known)
            await self._feed_booking(p["id"])
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

    async def _rivals(self, p: dict[str, Any]) -> list[Any]:
        """Active bookings overlapping ``p``; a hold past its expiry lapses here (it holds
        nothing) and its cancellation goes to the feed."""
        others = await self._occupying(p)
        expired = [o["id"] for o in others if _expired_hold(o, self.now)]
        for ident in expired:
            await self._set_status(ident, "cancelled", None, self.hub_stamp())
            await self._feed_booking(ident)
        return [o for o in others if o["id"] not in expired]

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
                " AND tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)') FOR UPDATE",
                p["resource_id"],
                p["id"],
                list(OCCUPYING_STATUSES),
                _instant(p["starts_at"]),
                _instant(p["ends_at"]),
            )
        )

    async def _set_aside(self, booking_id: str) -> None:
        await self._set_status(booking_id, "conflict", None, self.hub_stamp())
        await self._feed_booking(booking_id)

    async def _feed_booking(self, booking_id: str) -> None:
        row = await self.conn.fetchrow(
            "SELECT id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
            " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
            " updated_at, updated_hlc FROM booking WHERE id = $1",
            booking_id,
        )
        payload = booking_payload(row)
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
