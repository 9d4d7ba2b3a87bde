"""Placing wall-clock times in a zone and measuring UTC intervals in local wall time.

Naive datetimes are wall times of the site's zone. A wall time that does not exist (the hour
skipped when clocks go forward) is placed at the first instant after the gap, which is where a
wall clock shows a time at or after it; an ambiguous one (the repeated hour) takes its first
occurrence. A UTC interval is cut at offset changes into *wall segments*: pieces on which local
time is UTC plus one fixed offset, so wall-time questions (quiet hours, hours per local day)
become interval arithmetic that agrees with looking at a wall clock minute by minute.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WallSegment = tuple[datetime, datetime]  # naive local [start, end)

_ONE_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_CHUNK = timedelta(days=7)
DAY = timedelta(days=1)


def to_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware UTC instant for ``value``; a naive value is a wall time in ``tz``."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return _wall_to_utc(value, tz)


@lru_cache(maxsize=65536)
def _wall_to_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """Pure and hot (every permit, window and expiry of every scenario), hence cached."""
    offset = tz.utcoffset(value)
    if offset is not None and offset == tz.utcoffset(value.replace(fold=1)):
        return (value - offset).replace(tzinfo=UTC)  # the common case: one reading of the wall time
    first = value.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == value:
        return first  # ambiguous (clocks went back): the first occurrence
    # In a gap: fold=1 lands before the jump, fold=0 after it; the jump itself is the answer.
    before = value.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(before, first), max(before, first)
    return _transition(low, high, tz)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _transition(low: datetime, high: datetime, tz: ZoneInfo) -> datetime:
    """The first whole second in ``(low, high]`` with ``high``'s offset (one change between)."""
    wanted = _offset(high, tz)
    while high - low > _ONE_SECOND:
        middle = low + (high - low) / 2
        if _offset(middle, tz) == wanted:
            high = middle
        else:
            low = middle
    return low.replace(microsecond=0) + _ONE_SECOND


def wall_segments(start: datetime, end: datetime, tz: ZoneInfo) -> list[WallSegment]:
    """Cut the UTC interval ``[start, end)`` into pieces with one UTC offset each."""
    segments: list[WallSegment] = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + _CHUNK)
        first, last = _offset(cursor, tz), _offset(stop - _TICK, tz)
        if first != last:
            stop = _transition(cursor, stop - _TICK, tz)
        offset = first or timedelta(0)
        segments.append(
            ((cursor + offset).replace(tzinfo=None), (stop + offset).replace(tzinfo=None))
        )
        cursor = stop
    return segments


def overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> timedelta:
    """Length of the intersection of two half-open intervals (zero when disjoint)."""
    return max(timedelta(0), min(a_end, b_end) - max(a_start, b_start))


def daily_window_overlap(segments: list[WallSegment], start: time, end: time) -> timedelta:
    """Wall time the segments spend inside a daily window; ``end <= start`` crosses midnight."""
    crosses = end <= start
    total = timedelta(0)
    for seg_start, seg_end in segments:
        day = seg_start.date() - DAY
        while day <= seg_end.date():
            window_start = datetime.combine(day, start)
            window_end = datetime.combine(day + DAY if crosses else day, end)
            total += overlap(seg_start, seg_end, window_start, window_end)
            day += DAY
    return total


def hours_by_local_day(segments: list[WallSegment]) -> dict[date, timedelta]:
    """Time spent on each local calendar day."""
    days: dict[date, timedelta] = {}
    for seg_start, seg_end in segments:
        day = seg_start.date()
        while datetime.combine(day, time()) < seg_end:
            spent = overlap(
                seg_start,
                seg_end,
                datetime.combine(day, time()),
                datetime.combine(day + DAY, time()),
            )
            if spent:
                days[day] = days.get(day, timedelta(0)) + spent
            day += DAY
    return days


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()
