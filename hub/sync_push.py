"""Push: apply one node's batch of outbox changes exactly once, in one transaction.

The node row is locked for the batch, so pushes of one node never interleave; its ``high_water``
is the last sequence applied. Changes at or below it are duplicates (a retry, a lost answer)
and are skipped; the first new change must be ``high_water + 1``, and everything after it in
the batch is contiguous (``sync.wire`` checks), so a batch lands whole or not at all and
``high_water`` names exactly what the hub holds.

How each kind of change lands:

- booking: a new booking is inserted unless it collides with an active one on its resource
  (the exclusion constraint answers, ``ON CONFLICT DO NOTHING``); then the keeper rule
  (``sync.merge.keeper``) picks who keeps the slot on every replica alike, the other becomes
  ``conflict`` and a Conflict record opens under the pair's own id (``sync.conflicts``). A known
  booking's status only moves forward; payment is the hub's field and never taken from an edge.
- audit_event: stored once per ``(node_id, seq)``; the chain is checked against the previous
  event and the first break is recorded on the node (``audit_gap_after``), never repaired.
- site, resource, renter, document, check_in, conflict: last writer wins by HLC, with field
  ownership (document review is the hub's; site settings are the edge's).

Changes the hub makes while applying (a booking set aside, a conflict opened) are appended to
the site's feed so the edge pulls them; the edge's own changes are not echoed back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import ClockAhead, Conflict
from hub.tables import OCCUPYING_STATUSES, Node
from sync.conflicts import conflict_id
from sync.hlc import Stamp
from sync.merge import BookingClaim, keeper, keeper_rule, merge_status
from sync.pii import PiiCipher as HubPii
from sync.wire import Change, ConflictNotice, PushAck, PushBatch

HUB = "hub"
MAX_AHEAD_MS = 300_000


@dataclass
class Applied:
    applied: int = 0
    duplicates: int = 0
    conflicts: list[ConflictNotice] = field(default_factory=list)
    feed: list[tuple[Any, ...]] = field(default_factory=list)  # rows for the site's feed


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, inside its transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


def check_clock(batch: PushBatch, hub_ms: int, max_ahead_ms: int = MAX_AHEAD_MS) -> None:
    """Refuse a batch stamped more than ``max_ahead_ms`` ahead of the hub's clock."""
    newest = max((Stamp.decode(c.hlc).wall_ms for c in batch.changes), default=0)
    if newest > hub_ms + max_ahead_ms:
        ahead = newest - hub_ms
        raise ClockAhead(
            f"changes are stamped {ahead // 1000} s ahead of the hub's clock "
            f"(at most {max_ahead_ms // 1000} s): fix this node's clock",
            {"ahead_ms": ahead, "limit_ms": max_ahead_ms},
        )


async def apply_push(
    session: AsyncSession, node: Node, batch: PushBatch, now: datetime, pii: HubPii
) -> PushAck:
    conn = await driver(session)
    row = await conn.fetchrow(
        "SELECT high_water, generation FROM node WHERE id = $1 FOR UPDATE", node.id
    )
    high_water, generation = int(row["high_water"]), row["generation"]
    if generation is not None and generation != batch.generation:
        raise Conflict(
            "this node's database is a new generation (restored from a backup): enrol it again",
            {"generation": batch.generation},
        )
    result = Applied()
    fresh = [c for c in batch.changes if c.seq > high_water]
    result.duplicates = len(batch.changes) - len(fresh)
    if fresh and fresh[0].seq != high_water + 1:
        return _ack(high_water, result, now)  # a gap: the node resends from high_water + 1
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"site:{node.site_id}")
    applier = _Applier(conn, node, now, pii, result)
    await applier.apply(fresh)
    if fresh:
        high_water = fresh[-1].seq
    await conn.execute(
        "UPDATE node SET high_water = $2, last_seen_at = $3, generation = $4 WHERE id = $1",
        node.id,
        high_water,
        now,
        batch.generation,
    )
    await append_feed(conn, node.site_id, result.feed, now)
    return _ack(high_water, result, now)


def _ack(high_water: int, result: Applied, now: datetime) -> PushAck:
    return PushAck(
        high_water=high_water,
        applied=result.applied,
        duplicates=result.duplicates,
        conflicts=result.conflicts,
        hub_time_ms=int(now.timestamp() * 1000),
    )


async def append_feed(
    conn: asyncpg.Connection, site_id: str, rows: list[tuple[Any, ...]], now: datetime
) -> None:
    """Append ``(entity, entity_id, op, payload, hlc, origin)`` rows to the site's feed."""
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO feed (site_id, entity, entity_id, op, payload, hlc, origin, at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)",
        [(site_id, e, i, op, json.dumps(p), hlc, origin, now) for e, i, op, p, hlc, origin in rows],
    )


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


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class _Applier:
    def __init__(
        self, conn: asyncpg.Connection, node: Node, now: datetime, pii: HubPii, result: Applied
    ) -> None:
        self.conn = conn
        self.node = node
        self.now = now
        self.pii = pii
        self.result = result
        self.stamp = Stamp(int(now.timestamp() * 1000), 0, HUB)

    def hub_stamp(self) -> str:
        self.stamp = Stamp(self.stamp.wall_ms, self.stamp.counter + 1, HUB)
        return self.stamp.encode()

    async def apply(self, changes: list[Change]) -> None:
        """Bookings in bulk, then the other records in order, then the audit events in bulk."""
        audits = [c for c in changes if c.entity == "audit_event"]
        await self.bookings([c for c in changes if c.entity == "booking" and c.op == "upsert"])
        for change in changes:
            if change.entity in ("audit_event", "booking"):
                continue
            handler = _HANDLERS.get(change.entity)
            if handler is not None:
                await handler(self, change)
        await self.audit(audits)
        self.result.applied = len(changes)

    # --- bookings ---------------------------------------------------------------------------

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

    # --- audit ------------------------------------------------------------------------------

    async def audit(self, changes: list[Change]) -> None:
        if not changes:
            return
        events = sorted((c.payload for c in changes), key=lambda e: int(e["seq"]))
        columns: list[list[Any]] = [[] for _ in range(10)]
        for e in events:
            values = (
                int(e["seq"]),
                e["hlc"],
                e["actor"],
                e["action"],
                e["entity"],
                e["entity_id"],
                json.dumps(e.get("details") or {}),
                _instant(e["at"]),
                e["prev_hash"],
                e["hash"],
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        await self.conn.execute(
            "INSERT INTO audit_event (node_id, seq, hlc, actor, action, entity, entity_id,"
            " details, at, prev_hash, hash) SELECT $1, seq, hlc, actor, action, entity,"
            " entity_id, details::jsonb, at, prev_hash, hash FROM unnest($2::bigint[], $3::text[],"
            " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],"
            " $10::text[], $11::text[]) AS t(seq, hlc, actor, action, entity, entity_id, details,"
            " at, prev_hash, hash) ON CONFLICT DO NOTHING",
            self.node.id,
            *columns,
        )
        await self._check_chain(events)

    async def _check_chain(self, events: list[dict[str, Any]]) -> None:
        first = int(events[0]["seq"])
        previous = None
        if first > 1:
            previous = await self.conn.fetchval(
                "SELECT hash FROM audit_event WHERE node_id = $1 AND seq = $2",
                self.node.id,
                first - 1,
            )
        expected_seq = first
        for event in events:
            seq = int(event["seq"])
            broken = seq != expected_seq or (
                (previous is not None or seq > 1) and event["prev_hash"] != previous
            )
            if broken:
                await self.conn.execute(
                    "UPDATE node SET audit_gap_after = COALESCE(LEAST(audit_gap_after, $2), $2)"
                    " WHERE id = $1",
                    self.node.id,
                    seq - 1,
                )
                return
            previous, expected_seq = event["hash"], seq + 1

    # --- mutable records --------------------------------------------------------------------

    async def site(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "UPDATE site SET name = $2, jurisdiction = $3, timezone = $4, address = $5,"
            " latitude = $6, longitude = $7, profile = $8::jsonb, updated_hlc = $9"
            " WHERE id = $1 AND updated_hlc < $9",
            self.node.site_id,
            p.get("name"),
            p.get("jurisdiction"),
            p.get("timezone"),
            p.get("address"),
            p.get("latitude"),
            p.get("longitude"),
            json.dumps(p.get("profile") or {}),
            p["updated_hlc"],
        )

    async def resource(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "INSERT INTO resource (id, site_id, name, kind, hourly_rate_cents, active,"
            " field_stamps, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, $7)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
            " hourly_rate_cents = excluded.hourly_rate_cents, active = excluded.active,"
            " updated_hlc = excluded.updated_hlc WHERE resource.updated_hlc < excluded.updated_hlc",
            p["id"],
            self.node.site_id,
            p["name"],
            p["kind"],
            int(p["hourly_rate_cents"]),
            bool(p.get("active", True)),
            p["updated_hlc"],
        )

    async def renter(self, change: Change) -> None:
        p = change.payload
        email, phone = p.get("email"), p.get("phone")
        await self.conn.execute(
            "INSERT INTO renter (id, name, profile, email_cipher, email_index, phone_cipher,"
            " phone_index, field_stamps, updated_hlc) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7,"
            " '{}'::jsonb, $8) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
            " profile = excluded.profile, email_cipher = excluded.email_cipher,"
            " email_index = excluded.email_index, phone_cipher = excluded.phone_cipher,"
            " phone_index = excluded.phone_index, updated_hlc = excluded.updated_hlc"
            " WHERE renter.updated_hlc < excluded.updated_hlc",
            p["id"],
            p["name"],
            json.dumps(p.get("profile") or {}),
            self.pii.seal("email", email) if email else None,
            self.pii.index("email", email) if email else None,
            self.pii.seal("phone", phone) if phone else None,
            self.pii.index("phone", phone) if phone else None,
            p["updated_hlc"],
        )

    async def document(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(  # review fields are the hub's: never taken from an edge
            "INSERT INTO document (id, owner_kind, owner_id, kind, number, issuer, issued_at,"
            " expires_at, sha256, size_bytes, content_type, filename, review_status, uploaded_by,"
            " created_at, field_stamps, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11, $12, 'pending', $13, $14, '{}'::jsonb, $15)"
            " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, number = excluded.number,"
            " issuer = excluded.issuer, issued_at = excluded.issued_at,"
            " expires_at = excluded.expires_at, updated_hlc = excluded.updated_hlc"
            " WHERE document.updated_hlc < excluded.updated_hlc",
            p["id"],
            p["owner_kind"],
            p["owner_id"],
            p["kind"],
            p.get("number"),
            p.get("issuer"),
            _instant(p.get("issued_at")),
            _instant(p.get("expires_at")),
            p["sha256"],
            int(p["size_bytes"]),
            p["content_type"],
            p["filename"],
            p["uploaded_by"],
            _instant(p.get("created_at")) or self.now,
            p["updated_hlc"],
        )

    async def check_in(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "INSERT INTO check_in (id, booking_id, result, verdict, staff_user_id,"
            " override_reason, checked_in_at, checked_out_at) VALUES ($1, $2, $3, $4::jsonb, $5,"
            " $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            p["id"],
            p["booking_id"],
            p["result"],
            json.dumps(p.get("verdict") or {}),
            p["staff_user_id"],
            p.get("override_reason"),
            _instant(p["checked_in_at"]),
            _instant(p.get("checked_out_at")),
        )

    async def conflict(self, change: Change) -> None:
        p = change.payload
        resolution = {"summary": p["resolution"]} if p.get("resolution") else None
        await self.conn.execute(
            "INSERT INTO conflict (id, site_id, keeper_id, loser_id, rule, status, resolution,"
            " created_at, resolved_at, resolved_by, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6,"
            " $7::jsonb, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET status = 'resolved',"
            " resolution = excluded.resolution, resolved_at = excluded.resolved_at,"
            " resolved_by = excluded.resolved_by, updated_hlc = excluded.updated_hlc"
            " WHERE conflict.status = 'open' AND excluded.status = 'resolved'",
            p["id"],
            self.node.site_id,
            p["keeper_id"],
            p["loser_id"],
            p["rule"],
            p["status"],
            json.dumps(resolution) if resolution else None,
            _instant(p.get("created_at")) or self.now,
            _instant(p.get("resolved_at")),
            p.get("resolved_by"),
            p["updated_hlc"],
        )


_HANDLERS = {
    "booking": _Applier.booking,
    "site": _Applier.site,
    "resource": _Applier.resource,
    "renter": _Applier.renter,
    "document": _Applier.document,
    "check_in": _Applier.check_in,
    "conflict": _Applier.conflict,
}


def booking_payload(row: Any) -> dict[str, Any]:
    """A booking row in the replicated (edge) shape."""
    quote = row["quote"]
    return {
        "id": row["id"],
        "site_id": row["site_id"],
        "resource_id": row["resource_id"],
        "renter_id": row["renter_id"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "status": row["status"],
        "hold_expires_at": row["hold_expires_at"].isoformat() if row["hold_expires_at"] else None,
        "price_cents": row["price_cents"],
        "quote": json.loads(quote) if isinstance(quote, str) else quote,
        "paid": row["paid"],
        "confirmed_hlc": row["confirmed_hlc"],
        "origin_node": row["origin_node"],
        "created_by": row["origin_node"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "updated_hlc": row["updated_hlc"],
    }
