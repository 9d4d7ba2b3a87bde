"""Conflicts on the hub: collisions settled by the keeper rule, shown side by side, and resolved.

Sync opens them (``hub.sync_push``) when an edge's offline booking collides with one the hub
holds: the keeper keeps the slot, the loser waits in status ``conflict``. Sync also settles one
when its keeper leaves the slot (``hub.sync_settle``: resolved by ``hub``, and the loser gets
its slot back). An admin or a host of the site resolves one here with ``cancel``: under the
site's advisory lock the set-aside booking is cancelled (cancel wins on every replica) and the
conflict marked resolved with a summary, and both go to the site's feed in that order, so the
edge applies them on its next pull. The hub keeps the resolution as ``{"summary": text}``; the
edge and this API show the text. ``move`` books a new slot, which the site does (its edge knows
the station's day); the hub refuses it (422).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.bookings.views import booking_out, fetch_booking, zone
from hub.errors import Conflict as StateConflict
from hub.errors import Forbidden, HubError, NotFound
from hub.hub_clock import HUB_NODE, HubClock
from hub.sync_feed import append_feed, booking_payload, driver
from hub.tables import Booking, Conflict, Site
from hub.users import Actor
from sync.shapes.conflicts import ConflictOut, ConflictResolve
from sync.vocabulary import Role

HUB_ACTIONS = ["cancel"]
LIST_LIMIT = 500
_CONFLICT = (
    "SELECT id, site_id, keeper_id, loser_id, rule, status, resolution, created_at,"
    " resolved_at, resolved_by, updated_hlc FROM conflict WHERE id = $1"
)


class ResolutionRefused(HubError):
    """A resolution the hub does not perform (422)."""

    code = "resolution_refused"


async def list_conflicts(
    session: AsyncSession, actor: Actor, now: datetime, site_id: str | None, status: str | None
) -> list[ConflictOut]:
    """Conflicts ``actor`` may see, newest first, each with both bookings."""
    if actor.role is Role.HOST:
        if site_id is not None and site_id != actor.site_id:
            raise Forbidden("a host sees only their own site's conflicts")
        site_id = actor.site_id
    on_site = col(Site.id) == col(Conflict.site_id)
    query = select(Conflict, Site.timezone).join(Site, on_site, isouter=True)
    if site_id is not None:
        query = query.where(col(Conflict.site_id) == site_id)
    if status is not None:
        query = query.where(col(Conflict.status) == status)
    query = query.order_by(col(Conflict.created_at).desc(), col(Conflict.id)).limit(LIST_LIMIT)
    found = (await session.exec(query)).all()
    ids = {c.keeper_id for c, _ in found} | {c.loser_id for c, _ in found}
    rows = (await session.exec(select(Booking).where(col(Booking.id).in_(ids)))).all()
    bookings = {b.id: b.model_dump() for b in rows}
    return [conflict_out(c.model_dump(), bookings, tz, now) for c, tz in found]


async def resolve_conflict(
    session: AsyncSession,
    hlc: HubClock,
    now: datetime,
    actor: Actor,
    conflict_id: str,
    request: ConflictResolve,
) -> ConflictOut:
    """Cancel the set-aside booking and close the conflict; both replicate to the site."""
    if request.action != "cancel":
        raise ResolutionRefused(
            f"the hub resolves by cancel only; {request.action} the booking at the site",
            {"actions": HUB_ACTIONS},
        )
    conn = await driver(session)
    found = await conn.fetchrow(_CONFLICT, conflict_id)
    if found is None or (actor.role is not Role.ADMIN and found["site_id"] != actor.site_id):
        raise NotFound("no such conflict", {"conflict_id": conflict_id})
    site_id = found["site_id"]
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"site:{site_id}")
    conflict = await conn.fetchrow(_CONFLICT + " FOR UPDATE", conflict_id)
    if conflict is None:  # cannot happen while conflicts are never deleted; never a 500
        raise NotFound("no such conflict", {"conflict_id": conflict_id})
    if conflict["status"] != "open":
        raise StateConflict("this conflict is already resolved", {"status": conflict["status"]})
    loser = await conn.fetchrow(
        "SELECT id, status, updated_hlc FROM booking WHERE id = $1 FOR UPDATE",
        conflict["loser_id"],
    )
    if loser is None:
        raise StateConflict("the set-aside booking is not on the hub", {"id": conflict["loser_id"]})
    feed = await _cancel(conn, hlc, now, loser)
    summary = f"cancelled {loser['id']}" + (f": {request.note}" if request.note else "")
    resolved = await conn.fetchrow(
        "UPDATE conflict SET status = 'resolved', resolution = $2::jsonb, resolved_at = $3,"
        " resolved_by = $4, updated_hlc = $5 WHERE id = $1 RETURNING *",
        conflict_id,
        json.dumps({"summary": summary}),
        now,
        actor.email,
        hlc.stamp(conflict["updated_hlc"]),
    )
    payload = conflict_payload(resolved, summary)
    feed.append(("conflict", conflict_id, "upsert", payload, payload["updated_hlc"], HUB_NODE))
    await append_feed(conn, site_id, feed, now)
    site = await session.get(Site, site_id)
    bookings = {}
    for booking_id in (conflict["keeper_id"], conflict["loser_id"]):
        if (row := await fetch_booking(conn, booking_id)) is not None:
            bookings[booking_id] = dict(row)
    return conflict_out(dict(resolved), bookings, site.timezone if site else None, now)


async def _cancel(
    conn: asyncpg.Connection, hlc: HubClock, now: datetime, loser: Any
) -> list[tuple[Any, ...]]:
    """Cancel the set-aside booking (already cancelled: nothing to send)."""
    if loser["status"] == "cancelled":
        return []
    row = await conn.fetchrow(
        "UPDATE booking SET status = 'cancelled', updated_hlc = $2, updated_at = $3"
        " WHERE id = $1 RETURNING *",
        loser["id"],
        hlc.stamp(loser["updated_hlc"]),
        now,
    )
    payload = booking_payload(row)
    return [("booking", loser["id"], "upsert", payload, payload["updated_hlc"], HUB_NODE)]


def conflict_payload(row: Any, summary: str | None) -> dict[str, Any]:
    """A conflict in the edge's replicated shape (its resolution as text)."""
    return {
        "id": row["id"],
        "keeper_id": row["keeper_id"],
        "loser_id": row["loser_id"],
        "rule": row["rule"],
        "status": row["status"],
        "resolution": summary,
        "created_at": row["created_at"].isoformat(),
        "resolved_at": row["resolved_at"].isoformat() if row["resolved_at"] else None,
        "resolved_by": row["resolved_by"],
        "updated_hlc": row["updated_hlc"],
    }


def summary_of(resolution: Any) -> str | None:
    """The text of a stored resolution (``{"summary": text}``, as JSON text or parsed)."""
    if isinstance(resolution, str):
        resolution = json.loads(resolution)
    if isinstance(resolution, dict):
        text = resolution.get("summary")
        return str(text) if text is not None else None
    return None


def conflict_out(
    values: dict[str, Any], bookings: dict[str, dict[str, Any]], tz: str | None, now: datetime
) -> ConflictOut:
    place = zone(tz)
    keeper, loser = bookings.get(values["keeper_id"]), bookings.get(values["loser_id"])
    is_open = values["status"] == "open"
    return ConflictOut(
        id=values["id"],
        status="open" if is_open else "resolved",
        rule=values["rule"],
        keeper=booking_out(keeper, place, now) if keeper else None,
        loser=booking_out(loser, place, now) if loser else None,
        resolution=summary_of(values["resolution"]),
        created_at=values["created_at"],
        resolved_at=values["resolved_at"],
        resolved_by=values["resolved_by"],
        actions=list(HUB_ACTIONS) if is_open else [],
    )
