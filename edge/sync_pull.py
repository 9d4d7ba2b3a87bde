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

When the hub answers ``snapshot_required`` instead, ``pull_all`` stops and says so; the round
bootstraps from a snapshot (``edge.sync_bootstrap``, which reuses the rules above) and pulls on.

State this node changes because of a pull is audited under the actor ``sync``; a booking of
this node that loses a collision also goes to the outbox, so the hub sees the same decision.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from edge.columns import canonical_json, insert_row, load_row, update_row, utc_text
from edge.journal import Actor, Tx
from edge.pii import PiiCipher
from edge.services import EdgeServices
from edge.tables import Booking, Conflict
from sync.conflicts import conflict_id
from sync.merge import (
    ACTIVE_STATUSES,
    BookingClaim,
    keeper,
    keeper_rule,
    merge_status,
    pulled_status,
)
from sync.vocabulary import LONGEST_BOOKING, Role
from sync.wire import FeedChange, PullPage

if TYPE_CHECKING:
    from edge.hub_link import HubLink

SYNC_ACTOR = Actor("sync", "sync", Role.ADMIN)
PAGE_LIMIT = 5000
_BOOKING_FIELDS = tuple(Booking.model_fields)


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    skipped: int = 0
    conflicts: int = 0
    checkpoint: int = 0
    skipped_kinds: dict[str, int] = field(default_factory=dict)
    hub_bundle_version: int | None = None  # the hub's newest reference bundle, if it said
    snapshot_required: bool = False  # bootstrap first (edge.sync_bootstrap), then pull on


async def pull_all(services: EdgeServices, link: HubLink, limit: int = PAGE_LIMIT) -> PullReport:
    report = PullReport()
    health = _outbox_health(services)
    while True:
        checkpoint = await pull_checkpoint(services)
        page, answer = await link.pull(checkpoint, limit, health)
        report.hub_bundle_version = answer.bundle_version
        if page.snapshot_required:  # below the feed horizon, or new with a long feed
            report.snapshot_required = True
            return report
        await apply_page(services, page, report)
        report.pages += 1
        report.checkpoint = page.checkpoint
        if not page.more or page.checkpoint <= checkpoint:
            return report


def _outbox_health(services: EdgeServices) -> dict[str, int]:
    """What waits in the outbox, as the hub's fleet view shows it."""
    row = services.db.lookup(
        "SELECT count(*), min(created_at) FROM outbox"
        " WHERE seq > (SELECT pushed_seq FROM sync_state WHERE id = 1)",
        (),
    )
    depth, oldest = row if row else (0, None)
    health = {"outbox_depth": int(depth)}
    if oldest:
        health["oldest_unsent_ms"] = int(datetime.fromisoformat(oldest).timestamp() * 1000)
    return health


async def pull_checkpoint(services: EdgeServices) -> int:
    row = services.db.lookup("SELECT pull_checkpoint FROM sync_state WHERE id = 1", ())
    return int(row[0]) if row else 0


async def apply_page(services: EdgeServices, page: PullPage, report: PullReport) -> None:
    """Apply one page and store its checkpoint, in one transaction (all or nothing)."""
    now = services.clock.now()
    if not page.changes and page.checkpoint == await pull_checkpoint(services):
        return  # nothing to apply, nothing to move: no write at all
    async with services.journal.write(SYNC_ACTOR, now) as tx:
        mine = tx.node.node_id
        changes = [c for c in page.changes if c.origin != mine]  # our own, echoed back
        bookings = [c for c in changes if c.entity == "booking" and c.op == "upsert"]
        received = _apply_bookings(tx, [c.payload for c in bookings], report)
        for change in changes:
            if change.entity == "booking" and change.op == "upsert":
                continue
            if _apply(tx, services, change, report):
                report.applied += 1
            else:
                report.skipped += 1
        report.applied += len(bookings)
        if changes:
            tx.record(
                "sync.pull",
                "sync_state",
                "1",
                {"checkpoint": page.checkpoint, "changes": len(changes), **received},
            )
        tx.raw.execute(
            "UPDATE sync_state SET pull_checkpoint = ?, last_pull_at = ? WHERE id = 1",
            (page.checkpoint, utc_text(now)),
        )


def _apply(tx: Tx, services: EdgeServices, change: FeedChange, report: PullReport) -> bool:
    if change.entity == "conflict" and change.op == "upsert":
        apply_conflict(tx, change.payload)
    elif change.entity == "renter" and change.op == "upsert":
        apply_renter(tx, change.payload, services.pii)
    elif change.entity == "document" and change.op == "upsert":
        apply_document_review(tx.raw, change.payload)
    else:
        kind = f"{change.entity}.{change.op}"
        report.skipped_kinds[kind] = report.skipped_kinds.get(kind, 0) + 1
        return False
    return True


BOOKING_COLUMNS = tuple(c.name for c in Booking.__table__.columns)  # type: ignore[attr-defined]
INSERT_BOOKING = (
    f"INSERT INTO booking ({', '.join(BOOKING_COLUMNS)})"  # noqa: S608 - column names only
    f" VALUES ({', '.join('?' for _ in BOOKING_COLUMNS)})"
)
_CHUNK = 500


def _apply_bookings(tx: Tx, payloads: list[dict[str, Any]], report: PullReport) -> dict[str, int]:
    """The page's bookings: new ones inserted together, known ones moved forward one by one,
    then every active one that now overlaps a local booking settled by the keeper rule."""
    folded = {payload["id"]: payload for payload in payloads}  # the hub's newest word on each
    ids = list(folded)
    known: set[str] = set()
    for index in range(0, len(ids), _CHUNK):
        chunk = ids[index : index + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        query = f"SELECT id FROM booking WHERE id IN ({marks})"  # noqa: S608 - placeholders only
        known.update(row[0] for row in tx.raw.execute(query, chunk))
    fresh = [p for ident, p in folded.items() if ident not in known]
    tx.raw.executemany(INSERT_BOOKING, (_booking_row(p) for p in fresh))
    updated = 0
    for ident in known:
        updated += _update_booking(tx, folded[ident])
    touched = [p["id"] for p in fresh] + [
        i for i in known if folded[i]["status"] in ACTIVE_STATUSES
    ]
    conflicts = settle_overlaps(tx, touched)
    report.conflicts += conflicts
    return {"bookings_received": len(fresh), "bookings_updated": updated, "conflicts": conflicts}


def _booking_row(p: dict[str, Any]) -> tuple[Any, ...]:
    values = {
        **p,
        "starts_at": _stored(p["starts_at"]),
        "ends_at": _stored(p["ends_at"]),
        "hold_expires_at": _stored(p.get("hold_expires_at")),
        "created_at": _stored(p.get("created_at")),
        "updated_at": _stored(p.get("updated_at") or p.get("created_at")),
        "quote": canonical_json(p.get("quote") or {}),
        "created_by": p.get("created_by") or "hub",
        "origin_node": p.get("origin_node") or "hub",
        "paid": bool(p.get("paid")),
    }
    return tuple(values.get(name) for name in BOOKING_COLUMNS)


def _stored(value: str | None) -> str | None:
    return utc_text(datetime.fromisoformat(value)) if value else None


def _update_booking(tx: Tx, payload: dict[str, Any]) -> int:
    incoming = _booking_from(payload)
    local = load_row(tx.raw, Booking, incoming.id)
    if local is None:
        return 0
    status = pulled_status(local.status, payload)
    if (status, incoming.paid) == (local.status, local.paid):
        return 0
    local.status, local.paid = status, incoming.paid
    local.confirmed_hlc = local.confirmed_hlc or incoming.confirmed_hlc
    local.updated_hlc = max(local.updated_hlc, incoming.updated_hlc)
    local.updated_at = tx.now
    update_row(tx.raw, local, ("status", "paid", "confirmed_hlc", "updated_hlc", "updated_at"))
    return 1


_OVERLAPS = (  # bounded below by the longest booking, so the index range scan stays short
    "SELECT o.id FROM booking AS o, booking AS n WHERE n.id = ?"
    " AND (n.status IN ('confirmed', 'checked_in')"
    " OR (n.status = 'hold' AND n.hold_expires_at > ?))"
    " AND o.resource_id = n.resource_id AND o.id != n.id"
    " AND o.starts_at < n.ends_at AND o.starts_at > ? AND o.ends_at > n.starts_at"
    " AND (o.status IN ('confirmed', 'checked_in')"
    " OR (o.status = 'hold' AND o.hold_expires_at > ?))"
)
_STARTS = "SELECT starts_at FROM booking WHERE id = ?"


def settle_overlaps(tx: Tx, ids: list[str]) -> int:
    """Settle every overlap between these active bookings and the node's others (the keeper
    rule; the loser becomes ``conflict`` and a Conflict opens); how many were settled."""
    now = utc_text(tx.now)
    pairs: list[tuple[str, str]] = []
    for ident in ids:
        (starts,) = tx.raw.execute(_STARTS, (ident,)).fetchone()
        earliest = utc_text(datetime.fromisoformat(starts) - LONGEST_BOOKING)
        rows = tx.raw.execute(_OVERLAPS, (ident, now, earliest, now)).fetchall()
        pairs.extend((ident, other) for (other,) in rows)
    settled = 0
    for first, second in pairs:
        a, b = load_row(tx.raw, Booking, first), load_row(tx.raw, Booking, second)
        if a is None or b is None or "conflict" in (a.status, b.status):
            continue  # settled earlier in this page (a pair is seen from both sides)
        kept = keeper(_claim(a, tx.node.node_id), _claim(b, tx.node.node_id))
        loser = b if kept.booking_id == a.id else a
        _lose(tx, loser)
        _open_conflict(
            tx,
            kept.booking_id,
            loser.id,
            keeper_rule(_claim(a, tx.node.node_id), _claim(b, tx.node.node_id)),
        )
        settled += 1
    return settled


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


_DECISION = (
    "keeper_id",
    "loser_id",
    "rule",
    "status",
    "resolution",
    "resolved_at",
    "resolved_by",
    "updated_hlc",
)


def _open_conflict(tx: Tx, keeper_id: str, loser_id: str, rule: str) -> None:
    ident = conflict_id(keeper_id, loser_id)
    known = load_row(tx.raw, Conflict, ident)
    if known is not None and known.keeper_id == keeper_id:
        return
    if known is not None:  # decided again the other way round (the loser was checked in)
        known.keeper_id, known.loser_id, known.rule = keeper_id, loser_id, rule
        known.status, known.resolution, known.resolved_at, known.resolved_by = (
            "open",
            None,
            None,
            None,
        )
        known.updated_hlc = tx.stamp()
        update_row(tx.raw, known, _DECISION)
        tx.record(
            "conflict.redecided",
            "conflict",
            ident,
            {"keeper_id": keeper_id, "loser_id": loser_id, "rule": rule},
            state=known.model_dump(mode="json"),
        )
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


def apply_conflict(tx: Tx, payload: dict[str, Any]) -> None:
    incoming = Conflict.model_validate(payload)
    local = load_row(tx.raw, Conflict, incoming.id)
    if local is None:
        insert_row(tx.raw, incoming)
        tx.record("sync.conflict_received", "conflict", incoming.id, {"status": incoming.status})
    elif incoming.updated_hlc > local.updated_hlc:  # the newer decision or resolution wins
        update_row(tx.raw, incoming, _DECISION)
        tx.record(
            "sync.conflict_updated",
            "conflict",
            incoming.id,
            {"status": incoming.status, "keeper_id": incoming.keeper_id},
        )


_RENTER_STAMP = "SELECT updated_hlc FROM renter WHERE id = ?"
_UPSERT_RENTER = (
    "INSERT INTO renter (id, name, email_cipher, email_index, phone_cipher, phone_index, profile,"
    " created_at, updated_hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, email_cipher = excluded.email_cipher,"
    " email_index = excluded.email_index, phone_cipher = excluded.phone_cipher,"
    " phone_index = excluded.phone_index, profile = excluded.profile,"
    " updated_hlc = excluded.updated_hlc"
)


def apply_renter(tx: Tx, payload: dict[str, Any], pii: PiiCipher) -> None:
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


def apply_document_review(raw: sqlite3.Connection, payload: dict[str, Any]) -> None:
    raw.execute(
        _REVIEW,
        (payload["review_status"], payload["updated_hlc"], payload["id"], payload["updated_hlc"]),
    )
