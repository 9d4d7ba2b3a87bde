"""Placing wall-clock times in a zone and measuring UTC intervals in local wall time.

Naive datetimes are wall times of the site's zone. A wall time that does not exist (the hour
skipped when clocks go forward) is placed at the first instant after the gap, which is where a
wall clock shows a time at or after it; an ambiguous one (the repeated hour) takes its first
occurrence. A UTC interval is cut at offset changes into *wall segments*: pieces on which local
time is UTC plus one fixed offset, so wall-time questions (quiet hours, hours per local day)
become interval arithmetic that agrees with looking at a wall clock minute by minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WallSegment = tuple[int, int]
"""``[start, end)`` in wall-clock microseconds since 1970-01-01 00:00 local (integer arithmetic)."""

_ONE_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_CHUNK = timedelta(days=7)
DAY = timedelta(days=1)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)


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


@lru_cache(maxsize=65536)
def wall_segments(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[WallSegment, ...]:
    """Cut the UTC interval ``[start, end)`` into pieces with one UTC offset each.

    Cached: a site's bookings of a day are measured again at every check-in of that day.
    """
    offset = start.astimezone(tz).utcoffset()
    if end - start <= _CHUNK and offset == (end - _TICK).astimezone(tz).utcoffset():
        shift = (offset or timedelta(0)) // _US  # the common case: no offset change inside
        return (((start - _EPOCH) // _US + shift, (end - _EPOCH) // _US + shift),)
    segments: list[WallSegment] = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + _CHUNK)
        first, last = _offset(cursor, tz), _offset(stop - _TICK, tz)
        if first != last:
            stop = _transition(cursor, stop - _TICK, tz)
        shift = (first or timedelta(0)) // _US
        segments.append(((cursor - _EPOCH) // _US + shift, (stop - _EPOCH) // _US + shift))
        cursor = stop
    return tuple(segments)


def _clock_us(moment: time) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


def daily_window_overlap(segments: Sequence[WallSegment], start: time, end: time) -> timedelta:
    """Wall time the segments spend inside a daily window; ``end <= start`` crosses midnight."""
    opens, closes = _clock_us(start), _clock_us(end)
    if closes <= opens:
        closes += _DAY_US
    total = 0
    for seg_start, seg_end in segments:
        for day in range(seg_start // _DAY_US - 1, (seg_end - 1) // _DAY_US + 1):
            base = day * _DAY_US
            total += max(0, min(seg_end, base + closes) - max(seg_start, base + opens))
    return timedelta(microseconds=total)


def time_by_local_day(segments: Sequence[WallSegment]) -> dict[int, int]:
    """Microseconds spent on each local calendar day, keyed by days since 1970-01-01."""
    spent: dict[int, int] = {}
    for seg_start, seg_end in segments:
        for day in range(seg_start // _DAY_US, (seg_end - 1) // _DAY_US + 1):
            base = day * _DAY_US
            part = min(seg_end, base + _DAY_US) - max(seg_start, base)
            if part > 0:
                spent[day] = spent.get(day, 0) + part
    return spent


def day_date(day: int) -> date:
    """The calendar date of a ``time_by_local_day`` key."""
    return _EPOCH_DATE + timedelta(days=day)


def hours_by_local_day(segments: Sequence[WallSegment]) -> dict[date, timedelta]:
    """Time spent on each local calendar day."""
    return {
        day_date(day): timedelta(microseconds=us) for day, us in time_by_local_day(segments).items()
    }
