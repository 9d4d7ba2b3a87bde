"""Pull: the hub's feed for this site, applied page by page with the checkpoint in one transaction.

A crash between applying a page and storing its checkpoint cannot happen: both commit together,
so a page is applied entirely or not at all, and applying it again (after a lost answer) changes
nothing. What the hub sends and how it lands here:

- bookings: status only moves forward (``sync.merge.merge_status``), payment is the hub's word;
  an unknown booking is inserted. A hub booking on a slot this node sold while offline is a
  collision: the keeper rule picks one on every replica alike, the other becomes ``conflict``,
  and a Conflict record with the pair's own id is opened (the hub opens the same one).
- conflicts: inserted, or moved forward (open -> resolved).
- renters: the newer ``updated_hlc`` wins; contact details are sealed under this node's key.
- document metadata: review fields are the hub's (documents uploaded elsewhere: not yet).
- anything else is skipped and counted (a newer hub may send kinds this node does not know).

State this node changes because of a pull is audited under the actor ``sync``; a booking of
this node that loses a collision also goes to the outbox, so the hub sees the same decision.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge.columns import canonical_json, insert_row, load_row, update_row, utc_text
from edge.errors import HubRefused
from edge.hub_link import HubLink
from edge.journal import Actor, Tx
from edge.pii import PiiCipher
from edge.services import EdgeServices
from edge.tables import Booking, Conflict
from sync.conflicts import conflict_id
from sync.merge import ACTIVE_STATUSES, BookingClaim, keeper, keeper_rule, merge_status
from sync.vocabulary import Role
from sync.wire import FeedChange, PullPage

SYNC_ACTOR = Actor("sync", "sync", Role.ADMIN)
PAGE_LIMIT = 5000
_BOOKING_FIELDS = tuple(Booking.model_fields)
_OCCUPYING = (
    "SELECT id FROM booking WHERE resource_id = ? AND id != ? AND starts_at < ? AND ends_at > ?"
    " AND (status IN ('confirmed', 'checked_in')"
    " OR (status = 'hold' AND hold_expires_at > ?))"
)


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    skipped: int = 0
    conflicts: int = 0
    checkpoint: int = 0
    skipped_kinds: dict[str, int] = field(default_factory=dict)


async def pull_all(services: EdgeServices, link: HubLink, limit: int = PAGE_LIMIT) -> PullReport:
    report = PullReport()
    while True:
        checkpoint = await _checkpoint(services)
        page, _answer = await link.pull(checkpoint, limit)
        if page.snapshot_required:
            raise HubRefused(
                "this node is past the hub's tombstone horizon and must bootstrap from a snapshot",
                409,
                "snapshot_required",
            )
        await apply_page(services, page, report)
        report.pages += 1
        report.checkpoint = page.checkpoint
        if not page.more or page.checkpoint <= checkpoint:
            return report


async def _checkpoint(services: EdgeServices) -> int:
    row = services.db.lookup("SELECT pull_checkpoint FROM sync_state WHERE id = 1", ())
    return int(row[0]) if row else 0


async def apply_page(services: EdgeServices, page: PullPage, report: PullReport) -> None:
    now = services.clock.now()
    async with services.journal.write(SYNC_ACTOR, now) as tx:
        for change in page.changes:
            if change.origin == tx.node.node_id:
                continue  # our own change, echoed back unchanged
            applied = _apply(tx, services, change, report)
            if applied:
                report.applied += 1
            else:
                report.skipped += 1
        tx.raw.execute(
            "UPDATE sync_state SET pull_checkpoint = ?, last_pull_at = ? WHERE id = 1",
            (page.checkpoint, utc_text(now)),
        )


def _apply(tx: Tx, services: EdgeServices, change: FeedChange, report: PullReport) -> bool:
    if change.entity == "booking" and change.op == "upsert":
        _apply_booking(tx, change.payload, report)
    elif change.entity == "conflict" and change.op == "upsert":
        _apply_conflict(tx, change.payload)
    elif change.entity == "renter" and change.op == "upsert":
        _apply_renter(tx, change.payload, services.pii)
    elif change.entity == "document" and change.op == "upsert":
        _apply_document(tx.raw, change.payload)
    else:
        kind = f"{change.entity}.{change.op}"
        report.skipped_kinds[kind] = report.skipped_kinds.get(kind, 0) + 1
        return False
    return True


def _booking_from(payload: dict[str, Any]) -> Booking:
    known = {k: v for k, v in payload.items() if k in _BOOKING_FIELDS}
    known.setdefault("created_by", "hub")
    known.setdefault("origin_node", "hub")
    return Booking.model_validate(known)


def _claim(booking: Booking, node_id: str) -> BookingClaim:
    return BookingClaim(
        booking_id=booking.id,
        node_id=booking.origin_node or node_id,
        status=booking.status,
        paid=booking.paid,
        confirmed_hlc=booking.confirmed_hlc,
    )


def _apply_booking(tx: Tx, payload: dict[str, Any], report: PullReport) -> None:
    incoming = _booking_from(payload)
    local = load_row(tx.raw, Booking, incoming.id)
    if local is None:
        insert_row(tx.raw, incoming)
        tx.record("sync.booking_received", "booking", incoming.id, {"status": incoming.status})
        _settle_collisions(tx, incoming, report)
        return
    status = merge_status(local.status, incoming.status)
    changed = (status, incoming.paid) != (local.status, local.paid)
    if not changed:
        return
    local.status, local.paid = status, incoming.paid
    local.confirmed_hlc = local.confirmed_hlc or incoming.confirmed_hlc
    local.updated_hlc = max(local.updated_hlc, incoming.updated_hlc)
    local.updated_at = tx.now
    update_row(tx.raw, local, ("status", "paid", "confirmed_hlc", "updated_hlc", "updated_at"))
    tx.record("sync.booking_updated", "booking", local.id, {"status": status, "paid": local.paid})
    _settle_collisions(tx, local, report)


def _settle_collisions(tx: Tx, booking: Booking, report: PullReport) -> None:
    """A hub booking on a slot this node already sold: one keeps it, the other is a conflict."""
    if booking.status not in ACTIVE_STATUSES:
        return
    rows = tx.raw.execute(
        _OCCUPYING,
        (
            booking.resource_id,
            booking.id,
            utc_text(booking.ends_at),
            utc_text(booking.starts_at),
            utc_text(tx.now),
        ),
    ).fetchall()
    for (other_id,) in rows:
        other = load_row(tx.raw, Booking, other_id)
        if other is None or booking.status == "conflict":
            continue
        mine, theirs = _claim(booking, tx.node.node_id), _claim(other, tx.node.node_id)
        kept = keeper(mine, theirs)
        loser = other if kept.booking_id == booking.id else booking
        _lose(tx, loser)
        _open_conflict(tx, kept.booking_id, loser.id, keeper_rule(mine, theirs))
        report.conflicts += 1


def _lose(tx: Tx, loser: Booking) -> None:
    loser.status = merge_status(loser.status, "conflict")
    loser.updated_at = tx.now
    loser.updated_hlc = tx.stamp()
    update_row(tx.raw, loser, ("status", "updated_at", "updated_hlc"))
    tx.record(
        "booking.conflict",
        "booking",
        loser.id,
        {"status": loser.status},
        state=loser.model_dump(mode="json"),
    )


def _open_conflict(tx: Tx, keeper_id: str, loser_id: str, rule: str) -> None:
    ident = conflict_id(keeper_id, loser_id)
    if load_row(tx.raw, Conflict, ident) is not None:
        return
    record = Conflict(
        id=ident,
        keeper_id=keeper_id,
        loser_id=loser_id,
        rule=rule,
        status="open",
        created_at=tx.now,
        updated_hlc=tx.stamp(),
    )
    insert_row(tx.raw, record)
    tx.record(
        "conflict.open",
        "conflict",
        ident,
        {"keeper_id": keeper_id, "loser_id": loser_id, "rule": rule},
        state=record.model_dump(mode="json"),
    )


def _apply_conflict(tx: Tx, payload: dict[str, Any]) -> None:
    incoming = Conflict.model_validate(payload)
    local = load_row(tx.raw, Conflict, incoming.id)
    if local is None:
        insert_row(tx.raw, incoming)
        tx.record("sync.conflict_received", "conflict", incoming.id, {"status": incoming.status})
    elif local.status == "open" and incoming.status == "resolved":
        local.status, local.resolution = incoming.status, incoming.resolution
        local.resolved_at, local.resolved_by = incoming.resolved_at, incoming.resolved_by
        local.updated_hlc = max(local.updated_hlc, incoming.updated_hlc)
        update_row(
            tx.raw,
            local,
            ("status", "resolution", "resolved_at", "resolved_by", "updated_hlc"),
        )
        tx.record("sync.conflict_resolved", "conflict", local.id, {"resolution": local.resolution})


_RENTER_STAMP = "SELECT updated_hlc FROM renter WHERE id = ?"
_UPSERT_RENTER = (
    "INSERT INTO renter (id, name, email_cipher, email_index, phone_cipher, phone_index, profile,"
    " created_at, updated_hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, email_cipher = excluded.email_cipher,"
    " email_index = excluded.email_index, phone_cipher = excluded.phone_cipher,"
    " phone_index = excluded.phone_index, profile = excluded.profile,"
    " updated_hlc = excluded.updated_hlc"
)


def _apply_renter(tx: Tx, payload: dict[str, Any], pii: PiiCipher) -> None:
    raw = tx.raw
    row = raw.execute(_RENTER_STAMP, (payload["id"],)).fetchone()
    if row is not None and row[0] >= payload["updated_hlc"]:
        return
    sealed: list[Any] = []
    for column in ("email", "phone"):
        value = payload.get(column)
        sealed += [pii.seal(column, value), pii.index(column, value)] if value else [None, None]
    created = payload.get("created_at")
    raw.execute(
        _UPSERT_RENTER,
        (
            payload["id"],
            payload["name"],
            *sealed,
            canonical_json(payload.get("profile") or {}),
            utc_text(datetime.fromisoformat(created) if created else tx.now),
            payload["updated_hlc"],
        ),
    )


_REVIEW = "UPDATE document SET review_status = ?, updated_hlc = ? WHERE id = ? AND updated_hlc < ?"


def _apply_document(raw: sqlite3.Connection, payload: dict[str, Any]) -> None:
    raw.execute(
        _REVIEW,
        (payload["review_status"], payload["updated_hlc"], payload["id"], payload["updated_hlc"]),
    )
