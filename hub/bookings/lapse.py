"""An expired hold lapsing on the hub, and its edge taking it back with a confirmation.

A hold holds its slot only until it expires, lazily; but the exclusion constraint cannot read
the clock, so before the hub books a slot an expired hold on it is lapsed: set ``cancelled``
and marked in ``field_stamps`` (``{"lapsed": stamp}``), and sent to the site with the feed
row's ``LAPSED`` mark. A lapse is not a user's cancel: the edge may have confirmed the hold
offline after it expired (``edge.booking_flow.confirm_expired_hold``), and when that
confirmation is pushed the booking is taken back (``pushed_status``), onto its slot if still
free, else into the keeper rule like any collision. Cancel still wins over everything else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from hub.sync_feed import booking_payload
from sync.merge import LAPSED, merge_status
from sync.vocabulary import BookingStatus

FeedRow = tuple[str, str, str, dict[str, Any], str, str]  # entity, id, op, payload, hlc, origin
HELD, CANCELLED = BookingStatus.HOLD.value, BookingStatus.CANCELLED.value
LAPSE_MARK = "lapsed"  # the key in booking.field_stamps
IS_LAPSED = f"field_stamps ? '{LAPSE_MARK}' AS lapsed"  # a select column: the hub lapsed it
UNMARK = f"field_stamps = field_stamps - '{LAPSE_MARK}'"  # any later status write


def expired(status: str, hold_expires_at: datetime | None, now: datetime) -> bool:
    """A hold past its expiry holds nothing."""
    return status == HELD and hold_expires_at is not None and hold_expires_at <= now


def pushed_status(current: str, lapsed: bool, incoming: str) -> str:
    """A booking's status once an edge's pushed status lands: forward only, cancel wins, except
    that the edge's own progress on a hold the hub lapsed (confirmed, checked in ...) takes the
    booking back."""
    if lapsed and current == CANCELLED and incoming not in (HELD, CANCELLED):
        merge_status(current, incoming)  # refuses an unknown status
        return incoming
    return merge_status(current, incoming)


def lapse_row(row: Any, stamp: str, origin: str) -> FeedRow:
    """The feed row of a lapsed booking: its state, marked as a lapse."""
    payload = {**booking_payload(row), LAPSED: True}
    return ("booking", row["id"], "upsert", payload, stamp, origin)


async def lapse(
    conn: asyncpg.Connection, ids: list[str], stamp: str, now: datetime, origin: str
) -> list[FeedRow]:
    """Lapse these expired holds (they give their slots up); their feed rows."""
    if not ids:
        return []
    rows = await conn.fetch(
        "UPDATE booking SET status = 'cancelled', updated_hlc = $2, updated_at = $3,"
        " field_stamps = field_stamps || $4::jsonb WHERE id = ANY($1::text[]) RETURNING *",
        ids,
        stamp,
        now,
        json.dumps({LAPSE_MARK: stamp}),
    )
    return [lapse_row(row, stamp, origin) for row in rows]
