"""Conflicts: collisions between bookings made on different replicas, and their resolution.

A conflict is opened by sync (on the edge when a pulled booking lands on a slot this node sold,
or received from the hub, which opens the same record under the same id). The booking the
keeper rule set aside is in status ``conflict`` and holds nothing. When the keeper leaves the
slot (checked out, cancelled, no-show) the hub settles the conflict and gives the set-aside
booking its slot back, which this node takes when it pulls. A host resolves it here:
``cancel`` cancels the set-aside booking (the hub refunds it when the change arrives), ``move``
books its renter on another free slot and cancels the set-aside one, in one transaction.
Both write the resolution through the journal, so the hub and the audit log see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from edge.bookings import booking_out, booking_state, create_in
from edge.columns import load_row, update_row
from edge.errors import Conflict as StateConflict
from edge.errors import InvalidInput, NotFound
from edge.journal import Actor, Tx
from edge.services import EdgeServices
from edge.tables import Booking, Conflict
from sync.shapes.bookings import BookingCreate
from sync.shapes.conflicts import RESOLVE_ACTIONS, ConflictOut, ConflictResolve
from sync.vocabulary import BookingStatus


async def list_conflicts(services: EdgeServices, status: str | None) -> list[ConflictOut]:
    now = services.clock.now()
    query = select(Conflict).order_by(col(Conflict.created_at).desc())
    if status is not None:
        query = query.where(col(Conflict.status) == status)
    async with services.db.read() as session:
        conflicts = list((await session.exec(query.limit(500))).all())
        ids = {c.keeper_id for c in conflicts} | {c.loser_id for c in conflicts}
        bookings = {
            b.id: b
            for b in (await session.exec(select(Booking).where(col(Booking.id).in_(ids)))).all()
        }
    return [conflict_out(services, c, bookings, now) for c in conflicts]


def conflict_out(
    services: EdgeServices, conflict: Conflict, bookings: dict[str, Booking], now: datetime
) -> ConflictOut:
    tz = services.site.timezone
    keeper, loser = bookings.get(conflict.keeper_id), bookings.get(conflict.loser_id)
    return ConflictOut(
        id=conflict.id,
        status="open" if conflict.status == "open" else "resolved",
        rule=conflict.rule,
        keeper=booking_out(keeper, tz, now) if keeper else None,
        loser=booking_out(loser, tz, now) if loser else None,
        resolution=conflict.resolution,
        created_at=conflict.created_at,
        resolved_at=conflict.resolved_at,
        resolved_by=conflict.resolved_by,
        actions=list(RESOLVE_ACTIONS) if conflict.status == "open" else [],
    )


async def resolve_conflict(
    services: EdgeServices, actor: Actor, conflict_id: str, request: ConflictResolve
) -> ConflictOut:
    async with services.journal.write(actor, services.clock.now()) as tx:
        conflict = load_row(tx.raw, Conflict, conflict_id)
        if conflict is None:
            raise NotFound("no such conflict", {"conflict_id": conflict_id})
        if conflict.status != "open":
            raise StateConflict("this conflict is already resolved", {"status": conflict.status})
        loser = load_row(tx.raw, Booking, conflict.loser_id)
        if loser is None:
            raise NotFound(
                "the set-aside booking is not on this node yet", {"id": conflict.loser_id}
            )
        resolution = f"cancelled {loser.id}"
        if request.action == "move":
            moved = await _rebook(services, tx, loser, request)
            resolution = f"moved {loser.id} to {moved.id}"
        _cancel(tx, loser)
        if request.note:
            resolution += f": {request.note}"
        conflict.status, conflict.resolution = "resolved", resolution
        conflict.resolved_at, conflict.resolved_by = tx.now, actor.label
        conflict.updated_hlc = tx.stamp()
        update_row(
            tx.raw, conflict, ("status", "resolution", "resolved_at", "resolved_by", "updated_hlc")
        )
        tx.record(
            "conflict.resolve",
            "conflict",
            conflict.id,
            {"action": request.action, "resolution": resolution},
            state=conflict.model_dump(mode="json"),
        )
        keeper = load_row(tx.raw, Booking, conflict.keeper_id)
        bookings = {b.id: b for b in (keeper, loser) if b is not None}
        return conflict_out(services, conflict, bookings, tx.now)


async def _rebook(
    services: EdgeServices, tx: Tx, loser: Booking, request: ConflictResolve
) -> Booking:
    if not (request.resource_id and request.start and request.end):
        raise InvalidInput("move needs resource_id, start and end")
    moved, _ = await create_in(
        services,
        tx,
        BookingCreate(
            resource_id=request.resource_id,
            renter_id=loser.renter_id,
            start=request.start,
            end=request.end,
            status="confirmed",
        ),
    )
    return moved


def _cancel(tx: Tx, loser: Booking) -> None:
    if loser.status == BookingStatus.CANCELLED.value:
        return
    loser.status = BookingStatus.CANCELLED.value
    loser.updated_at = tx.now
    loser.updated_hlc = tx.stamp()
    update_row(tx.raw, loser, ("status", "updated_at", "updated_hlc"))
    tx.record(
        "booking.cancel",
        "booking",
        loser.id,
        {"status": loser.status, "reason": "conflict"},
        state=booking_state(loser),
    )
