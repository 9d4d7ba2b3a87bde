"""Quiet hours and hours per local day agree with looking at a wall clock minute by minute.

The oracle walks every UTC minute of a booking, reads the local wall clock and counts; the code
under test does interval arithmetic on wall segments. Dates cluster around the 2025 DST changes
(including Lord Howe's 30-minute one) so the skipped and repeated wall hours are exercised.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_db.compliance import evaluate_json
from reference_db.localtime import (
    daily_window_overlap,
    hours_by_local_day,
    to_utc,
    wall_segments,
)
from reference_db.rulebook import RuleBook

ZONES = [
    ZoneInfo(name)
    for name in (
        "America/Los_Angeles",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "UTC",
    )
]
MINUTE = timedelta(minutes=1)
DST_WINDOWS = [  # (first day, number of days) around the 2025 changes of these zones
    (date(2025, 3, 7), 5),
    (date(2025, 10, 31), 5),
    (date(2025, 3, 28), 5),
    (date(2025, 10, 24), 5),
    (date(2025, 4, 4), 3),  # Lord Howe ends DST on 2025-04-06
    (date(2025, 10, 3), 3),  # and starts it on 2025-10-05
]
NEAR_DST = [first + timedelta(days=n) for first, count in DST_WINDOWS for n in range(count)]
EDGE_TIMES = [time(h, m) for h in (0, 1, 2, 3, 22, 23) for m in (0, 30)] + [time(6), time(7)]
CHECKED = settings(max_examples=200, deadline=None)


def transitions(tz: ZoneInfo) -> list[datetime]:
    """The UTC instants of 2025 at which ``tz`` changes its offset (to the hour, then minute)."""
    found = []
    hour = datetime(2025, 1, 1, tzinfo=UTC)
    while hour.year == 2025:
        if (
            hour.astimezone(tz).utcoffset()
            != (hour + timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            minute = hour
            while minute.astimezone(tz).utcoffset() == hour.astimezone(tz).utcoffset():
                minute += MINUTE
            found.append(minute)
        hour += timedelta(hours=1)
    return found


TRANSITIONS = {tz.key: transitions(tz) for tz in ZONES}


@st.composite
def intervals(draw: st.DrawFn) -> tuple[datetime, datetime, ZoneInfo]:
    """A whole-minute UTC interval of 1 minute to 3 days in a zone, often near a DST change."""
    tz = draw(st.sampled_from(ZONES))
    changes = TRANSITIONS[tz.key]
    near_a_change: bool = draw(st.booleans())
    if changes and near_a_change:
        start = draw(st.sampled_from(changes)) + draw(st.integers(-36 * 60, 12 * 60)) * MINUTE
    else:
        day = draw(
            st.one_of(st.sampled_from(NEAR_DST), st.dates(date(2025, 1, 1), date(2025, 12, 31)))
        )
        start = datetime.combine(day, time(), UTC) + draw(st.integers(0, 24 * 60 - 1)) * MINUTE
    length = draw(st.one_of(st.integers(1, 6 * 60), st.integers(1, 3 * 24 * 60)))
    return start, start + length * MINUTE, tz


wall_times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


def local_minutes(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The local wall time of every UTC minute in ``[start, end)``."""
    count = (end - start) // MINUTE
    return [(start + n * MINUTE).astimezone(tz) for n in range(count)]


def in_window(moment: datetime, start: time, end: time) -> bool:
    tod = moment.time().replace(tzinfo=None)
    if start < end:
        return start <= tod < end
    return tod >= start or tod < end


def oracle_minutes_in_window(
    start: datetime, end: datetime, tz: ZoneInfo, window: tuple[time, time]
) -> int:
    return sum(in_window(moment, *window) for moment in local_minutes(start, end, tz))


@CHECKED
@given(intervals(), wall_times, wall_times)
def test_quiet_hours_detected_exactly_when_a_wall_minute_is_inside(
    interval: tuple[datetime, datetime, ZoneInfo], window_start: time, window_end: time
) -> None:
    start, end, tz = interval
    expected = oracle_minutes_in_window(start, end, tz, (window_start, window_end)) > 0
    found = daily_window_overlap(wall_segments(start, end, tz), window_start, window_end)
    assert (found > timedelta(0)) == expected


@CHECKED
@given(intervals(), wall_times, wall_times)
def test_quiet_hours_overlap_equals_the_minutes_inside(
    interval: tuple[datetime, datetime, ZoneInfo], window_start: time, window_end: time
) -> None:
    start, end, tz = interval
    expected = oracle_minutes_in_window(start, end, tz, (window_start, window_end)) * MINUTE
    found = daily_window_overlap(wall_segments(start, end, tz), window_start, window_end)
    assert found == expected


@CHECKED
@given(intervals())
def test_hours_by_local_day_counts_every_minute_on_its_local_date(
    interval: tuple[datetime, datetime, ZoneInfo],
) -> None:
    start, end, tz = interval
    per_day = Counter(moment.date() for moment in local_minutes(start, end, tz))
    expected = {day: minutes * MINUTE for day, minutes in per_day.items()}
    assert hours_by_local_day(wall_segments(start, end, tz)) == expected


@st.composite
def wall_clock_times(draw: st.DrawFn) -> tuple[datetime, ZoneInfo]:
    """A naive whole-minute wall time in a zone, often inside a skipped or repeated hour."""
    tz = draw(st.sampled_from(ZONES))
    changes = TRANSITIONS[tz.key]
    near_a_change: bool = draw(st.booleans())
    if changes and near_a_change:
        near = draw(st.sampled_from(changes)).astimezone(tz).replace(tzinfo=None)
        return near + draw(st.integers(-90, 90)) * MINUTE, tz
    day = draw(st.one_of(st.sampled_from(NEAR_DST), st.dates(date(2025, 1, 1), date(2025, 12, 31))))
    return datetime.combine(day, draw(wall_times)), tz


@CHECKED
@given(wall_clock_times())
def test_a_wall_time_is_placed_at_the_first_minute_the_clock_shows_it_or_later(
    wall: tuple[datetime, ZoneInfo],
) -> None:
    value, tz = wall
    # Fifteen hours before the wall time read as UTC, every zone's clock still shows less.
    moment = value.replace(tzinfo=UTC) - timedelta(hours=15)
    while moment.astimezone(tz).replace(tzinfo=None) < value:
        moment += MINUTE
    assert to_utc(value, tz) == moment


@pytest.mark.parametrize(
    ("jurisdiction", "start", "end"),
    [
        ("san_francisco", "2025-11-12T18:00:00", "2025-11-12T23:00:00"),
        ("portland", "2025-11-12T06:30:00", "2025-11-12T08:00:00"),
    ],
)
def test_earlier_engines_misses_are_caught_end_to_end(
    book: RuleBook, jurisdiction: str, start: str, end: str
) -> None:
    scenario = {
        "jurisdiction": jurisdiction,
        "as_of": "2025-11-05T09:00:00Z",
        "booking": {"start": start, "end": end},
    }
    verdict = evaluate_json(scenario, book)
    assert "SOUND_QUIET_HOURS" in {v.rule_id for v in verdict.violations}


def test_a_daytime_booking_is_clear_of_quiet_hours(book: RuleBook) -> None:
    scenario = {
        "jurisdiction": "san_francisco",
        "as_of": "2025-11-05T09:00:00Z",
        "booking": {"start": "2025-11-12T10:00:00", "end": "2025-11-12T14:00:00"},
    }
    verdict = evaluate_json(scenario, book)
    assert "SOUND_QUIET_HOURS" not in {v.rule_id for v in verdict.violations}
