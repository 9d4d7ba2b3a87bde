"""Calendar arithmetic for a site: blocks with asymmetric buffers, seasonal windows, free slots.

Blocks are inspections, maintenance windows and blackouts: a core interval that a booking may
not touch, widened by a buffer before and a (possibly different) buffer after. All instants are
aware; wall-time questions go through ``localtime``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from reference_db.localtime import DAY, to_utc

_NO_TIME = timedelta(0)


class Clash(StrEnum):
    OVERLAP = "overlap"  # the booking touches the block itself
    BUFFER = "buffer"  # only the buffer around it


@dataclass(frozen=True)
class Block:
    """Something that keeps a resource unavailable: ``[start, end)`` plus buffers."""

    start: datetime
    end: datetime
    before: timedelta = _NO_TIME
    after: timedelta = _NO_TIME
    label: str = ""

    @property
    def buffered_start(self) -> datetime:
        return self.start - self.before

    @property
    def buffered_end(self) -> datetime:
        return self.end + self.after


def clash(start: datetime, end: datetime, block: Block) -> Clash | None:
    """How ``[start, end)`` collides with a block, if at all."""
    if start < block.end and block.start < end:
        return Clash.OVERLAP
    if start < block.buffered_end and block.buffered_start < end:
        return Clash.BUFFER
    return None


def clashes(start: datetime, end: datetime, blocks: Iterable[Block]) -> list[tuple[Block, Clash]]:
    found = ((block, clash(start, end, block)) for block in blocks)
    return [(block, kind) for block, kind in found if kind is not None]


def in_season(day: date, first: tuple[int, int], last: tuple[int, int]) -> bool:
    """Is ``day`` inside a yearly window of (month, day) pairs, inclusive, maybe wrapping?"""
    key = (day.month, day.day)
    if first <= last:
        return first <= key <= last
    return key >= first or key <= last


def season_days(days: Iterable[date], first: tuple[int, int], last: tuple[int, int]) -> list[date]:
    return [day for day in days if in_season(day, first, last)]


def local_dates(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Every local calendar date that ``[start, end)`` touches."""
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + DAY * n for n in range((last - first).days + 1)]


def free_slots(
    day: date,
    tz: ZoneInfo,
    opens: time,
    closes: time,
    busy: Iterable[Block],
    min_length: timedelta = timedelta(hours=1),
) -> list[tuple[datetime, datetime]]:
    """Free ``[start, end)`` intervals of a local day between opening and closing time.

    Busy blocks count with their buffers; slots shorter than ``min_length`` are dropped.
    ``closes`` at or before ``opens`` means the site closes after midnight.
    """
    day_start = to_utc(datetime.combine(day, opens), tz)
    close_day = day + DAY if closes <= opens else day
    day_end = to_utc(datetime.combine(close_day, closes), tz)
    taken = sorted(
        (max(b.buffered_start, day_start), min(b.buffered_end, day_end))
        for b in busy
        if b.buffered_start < day_end and day_start < b.buffered_end
    )
    slots: list[tuple[datetime, datetime]] = []
    cursor = day_start
    for taken_start, taken_end in taken:
        if taken_start - cursor >= min_length:
            slots.append((cursor, taken_start))
        cursor = max(cursor, taken_end)
    if day_end - cursor >= min_length:
        slots.append((cursor, day_end))
    return slots
