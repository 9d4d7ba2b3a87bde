"""Push: apply one node's batch of outbox changes exactly once, in one transaction.

The node's applied mark is claimed through the change store (``hub.change_store``: the node row
locked for the batch), so pushes of one node never interleave; its ``high_water`` is the last
sequence applied. Changes at or below it are duplicates (a retry, a lost answer)
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

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.change_store import SITE_LOCK, PostgresChangeStore
from hub.errors import ClockAhead, Conflict
from hub.sync_bookings import BookingApplier
from hub.sync_feed import Applied, append_feed, driver
from hub.sync_records import RecordApplier
from hub.tables import Node
from sync.hlc import Stamp
from sync.pii import PiiCipher
from sync.wire import Change, PushAck, PushBatch

MAX_AHEAD_MS = 300_000


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
    session: AsyncSession, node: Node, batch: PushBatch, now: datetime, pii: PiiCipher
) -> PushAck:
    conn = await driver(session)
    store = PostgresChangeStore(conn, node.site_id)
    claim = await store.claim(node.id, [change.seq for change in batch.changes])  # row locked
    generation = await conn.fetchval("SELECT generation FROM node WHERE id = $1", node.id)
    if generation is not None and generation != batch.generation:
        raise Conflict(
            "this node's database is a new generation (restored from a backup): enrol it again",
            {"generation": batch.generation},
        )
    result = Applied(duplicates=claim.duplicates)
    if claim.gap:
        return _ack(claim.mark, result, now)  # the node resends from the mark
    fresh = list(batch.changes[claim.duplicates :])
    await conn.execute(SITE_LOCK, f"site:{node.site_id}")
    await _Applier(conn, node, now, pii, result).apply(fresh)
    high_water = await store.mark_applied(node.id, claim.through)
    await conn.execute(
        "UPDATE node SET last_seen_at = $2, generation = $3 WHERE id = $1",
        node.id,
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


class _Applier(BookingApplier, RecordApplier):
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


_HANDLERS: dict[str, Callable[[_Applier, Change], Awaitable[None]]] = {
    "site": _Applier.site,
    "resource": _Applier.resource,
    "renter": _Applier.renter,
    "document": _Applier.document,
    "check_in": _Applier.check_in,
    "conflict": _Applier.conflict,
}
