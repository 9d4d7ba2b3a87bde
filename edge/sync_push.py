"""Push: the outbox after the hub's high-water mark, in batches, until nothing is left.

The hub applies each ``(node_id, seq)`` once and answers its high-water mark; the node stores it
and sends from there next time, so a lost answer, a retry or a duplicate costs bandwidth only.
A batch the hub finds too large (413) is halved and sent again.
Outbox rows are never deleted here: an acknowledged row stays until the retention job (or the
next bootstrap) decides, which keeps a crash between send and acknowledgement harmless.

Renter contact details leave the node as plaintext inside the signed request (the hub seals
them again under its own key); at rest they only ever exist sealed, on either side.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from edge.change_store import SqliteChangeStore
from edge.columns import utc_text
from edge.db import raw_connection
from edge.errors import HubRefused
from edge.pii import PiiCipher
from edge.services import EdgeServices
from sync.change_store import StoredChange
from sync.wire import Change, PushAck, PushBatch

if TYPE_CHECKING:
    from edge.hub_link import HubLink

BATCH_CHANGES = 2000


@dataclass
class PushReport:
    sent: int = 0
    applied: int = 0
    duplicates: int = 0
    batches: int = 0
    high_water: int = 0
    conflicts: int = 0


def wire_payload(entity: str, payload: dict[str, Any], pii: PiiCipher) -> dict[str, Any]:
    """The payload as the hub receives it: renter contacts opened, node-keyed index dropped."""
    if entity != "renter":
        return payload
    sent = {k: v for k, v in payload.items() if not k.endswith(("_cipher", "_index"))}
    for column in ("email", "phone"):
        sealed = payload.get(f"{column}_cipher")
        sent[column] = pii.open(column, base64.b64decode(sealed)) if sealed else None
    return sent


async def push_pending(
    services: EdgeServices, link: HubLink, generation: str, batch_changes: int = BATCH_CHANGES
) -> PushReport:
    report = PushReport()
    while True:
        pushed, rows = await _pending(services, batch_changes)
        report.high_water = pushed
        if not rows:
            return report
        pii = services.pii
        batch = PushBatch(
            node_id=link.node_id,
            generation=generation,
            changes=[
                Change(
                    c.seq,
                    c.hlc,
                    c.entity,
                    c.entity_id,
                    c.op,
                    wire_payload(c.entity, c.payload, pii),
                )
                for c in rows
            ],
        )
        try:
            ack, _answer = await link.push(batch)
        except HubRefused as exc:
            if exc.hub_status != 413 or len(rows) == 1:
                raise
            batch_changes = max(1, len(rows) // 2)  # the hub's limit is lower: send less
            continue
        _count(report, ack, len(rows))
        await record_push(services, ack.high_water, services.clock.now())
        report.high_water = ack.high_water
        if ack.high_water == pushed:  # no progress: the hub would not take the next change
            raise HubRefused(
                f"the hub did not take change {rows[0].seq} (high-water {ack.high_water})",
                409,
                "push_not_applied",
            )


def _count(report: PushReport, ack: PushAck, sent: int) -> None:
    report.sent += sent
    report.batches += 1
    report.applied += ack.applied
    report.duplicates += ack.duplicates
    report.conflicts += len(ack.conflicts)


async def _pending(services: EdgeServices, limit: int) -> tuple[int, list[StoredChange]]:
    async with services.db.read() as session:
        raw = await raw_connection(session)
        (pushed,) = raw.execute("SELECT pushed_seq FROM sync_state WHERE id = 1").fetchone()
        rows = await SqliteChangeStore.open(raw).read_after(pushed, limit)
    return int(pushed), rows


async def record_push(services: EdgeServices, high_water: int, now: datetime) -> None:
    """Store the hub's high-water mark (it may also move back: the hub asks from there)."""
    async with services.db.write() as session:
        raw = await raw_connection(session)
        raw.execute(
            "UPDATE sync_state SET pushed_seq = ?, last_push_at = ? WHERE id = 1",
            (high_water, utc_text(now)),
        )
