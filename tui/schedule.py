"""The day's schedule as the timeline draws it: lanes per resource, cells, the now-line, moves.

Pure: bookings and resources in, positions out. A day is the site's local calendar day; its
window runs from 06:00 to 22:00 local, widened to the whole hours of any booking that starts
earlier or ends later that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sync.shapes.bookings import BookingOut
from sync.shapes.site import ResourceOut

FIRST_HOUR, LAST_HOUR = 6, 22
HIDDEN_STATUSES = frozenset({"cancelled"})
# Drawn last = drawn on top: a booking that holds the slot wins a cell over one that does not.
PAINT_ORDER = ("conflict", "no_show", "checked_out", "hold", "confirmed", "checked_in")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as aware instants (23 or 25 h at DST)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


@dataclass(frozen=True)
class Window:
    """The stretch of the day the timeline shows, as aware local datetimes."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return minutes_between(self.start, self.end)


def minutes_between(earlier: datetime, later: datetime) -> float:
    """Elapsed minutes; in UTC, since aware datetimes of one zone subtract as wall times."""
    return (later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds() / 60


def day_window(day: date, tz: ZoneInfo, bookings: Sequence[BookingOut]) -> Window:
    """06:00-22:00 local, widened to whole hours around bookings of that day."""
    midnight, next_midnight = day_bounds(day, tz)
    start = datetime.combine(day, time(FIRST_HOUR), tzinfo=tz)
    end = datetime.combine(day, time(LAST_HOUR), tzinfo=tz)
    for booking in bookings:
        start = min(start, max(midnight, booking.start.astimezone(tz)).replace(minute=0))
        finish = min(next_midnight, booking.end.astimezone(tz))
        if finish.minute or finish.second:
            finish = finish.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = max(end, min(finish, next_midnight))
    return Window(start.replace(second=0, microsecond=0), end)


@dataclass(frozen=True)
class Lane:
    """One resource and its visible bookings, in start order."""

    resource: ResourceOut
    bookings: tuple[BookingOut, ...]


def lanes(resources: Sequence[ResourceOut], bookings: Sequence[BookingOut]) -> list[Lane]:
    """One lane per resource (inactive ones only if booked), cancelled bookings left out."""
    shown = sorted(
        (b for b in bookings if b.status not in HIDDEN_STATUSES), key=lambda b: (b.start, b.id)
    )
    result = []
    for resource in resources:
        own = tuple(b for b in shown if b.resource_id == resource.id)
        if resource.active or own:
            result.append(Lane(resource, own))
    return result


def cell_of(window: Window, width: int, moment: datetime) -> int | None:
    """The cell (0 .. width-1) holding ``moment``, or None outside the window."""
    if width <= 0 or not window.start <= moment < window.end:
        return None
    offset = minutes_between(window.start, moment)
    return min(width - 1, int(offset * width / window.minutes))


def paint(lane: Lane, window: Window, width: int) -> list[int | None]:
    """For each cell, the index in ``lane.bookings`` of the booking drawn there (or None)."""
    cells: list[int | None] = [None] * width
    rank = {status: i for i, status in enumerate(PAINT_ORDER)}
    order = sorted(range(len(lane.bookings)), key=lambda i: rank.get(lane.bookings[i].status, -1))
    for index in order:
        booking = lane.bookings[index]
        first, last = _cells_covered(window, width, booking.start, booking.end)
        for cell in range(first, last):
            cells[cell] = index
    return cells


def _cells_covered(window: Window, width: int, start: datetime, end: datetime) -> tuple[int, int]:
    """Cells ``[first, last)`` touched by ``[start, end)``; at least one if it is in view."""
    if end <= window.start or start >= window.end or width <= 0:
        return 0, 0
    scale = width / window.minutes
    first = int(max(0.0, minutes_between(window.start, start)) * scale)
    last = int(min(window.minutes, minutes_between(window.start, end)) * scale + 0.999)
    return min(first, width - 1), max(min(last, width), first + 1)


def hour_marks(window: Window, width: int) -> list[tuple[int, str]]:
    """Cells where an hour label (``08``) starts, spaced so that labels never touch."""
    hours = int(window.minutes // 60)
    every = next(step for step in (1, 2, 3, 4, 6, 12, 24) if width * step / max(hours, 1) >= 4)
    marks = []
    for n in range(0, hours + 1, every):
        at = window.start + timedelta(hours=n)
        cell = cell_of(window, width, at)
        if cell is not None and cell + 2 <= width:
            marks.append((cell, f"{at:%H}"))
    return marks


@dataclass(frozen=True)
class Cursor:
    """The selected booking: a lane and a booking index in it (None when the lane is empty)."""

    lane: int = 0
    item: int | None = None


def first_cursor(all_lanes: Sequence[Lane], now: datetime) -> Cursor:
    """The booking on now, else the next one to start, else the first of the day."""
    candidates = [
        (lane_index, item, booking)
        for lane_index, lane in enumerate(all_lanes)
        for item, booking in enumerate(lane.bookings)
    ]
    if not candidates:
        return Cursor()
    current = [c for c in candidates if c[2].end > now]
    lane_index, item, _ = min(current or candidates, key=lambda c: (c[2].start, c[0]))
    return Cursor(lane_index, item)


def step_sideways(all_lanes: Sequence[Lane], cursor: Cursor, delta: int) -> Cursor:
    """The previous (-1) or next (+1) booking in the same lane; stays put at either end."""
    if not all_lanes or cursor.item is None:
        return cursor
    count = len(all_lanes[cursor.lane].bookings)
    return Cursor(cursor.lane, max(0, min(count - 1, cursor.item + delta)))


def step_lanes(all_lanes: Sequence[Lane], cursor: Cursor, delta: int) -> Cursor:
    """The lane above (-1) or below (+1), on its booking nearest in time to the current one."""
    if not all_lanes:
        return cursor
    target = max(0, min(len(all_lanes) - 1, cursor.lane + delta))
    bookings = all_lanes[target].bookings
    if not bookings:
        return Cursor(target, None)
    anchor = selected(all_lanes, cursor)
    if anchor is None:
        return Cursor(target, 0)
    nearest = min(
        range(len(bookings)),
        key=lambda i: abs((bookings[i].start - anchor.start).total_seconds()),
    )
    return Cursor(target, nearest)


def selected(all_lanes: Sequence[Lane], cursor: Cursor) -> BookingOut | None:
    if cursor.item is None or not 0 <= cursor.lane < len(all_lanes):
        return None
    bookings = all_lanes[cursor.lane].bookings
    return bookings[cursor.item] if 0 <= cursor.item < len(bookings) else None


def cursor_for(all_lanes: Sequence[Lane], booking_id: str) -> Cursor | None:
    """Where a booking sits, if it is shown."""
    for lane_index, lane in enumerate(all_lanes):
        for item, booking in enumerate(lane.bookings):
            if booking.id == booking_id:
                return Cursor(lane_index, item)
    return None
