"""The site's booking rules: not in the past, minimum length, advance limit, opening hours.

Opening hours are wall times in the site's zone (``closes`` at or before ``opens`` means after
midnight); a booking must fit inside the opening window of the day it starts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.errors import InvalidInput
from edge.settings import BookingSettings
from reference_db.localtime import to_utc
from reference_db.rulebook import RentalLimits
from sync.vocabulary import LONGEST_BOOKING

PAST_GRACE = timedelta(minutes=15)  # a walk-in booked "now" may start a few minutes ago
LONGEST = LONGEST_BOOKING


def check_booking_window(
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    limits: RentalLimits | None,
    settings: BookingSettings,
) -> None:
    if end <= start:
        raise InvalidInput("end must be after start", {"field": "end"})
    if end - start > LONGEST:
        raise InvalidInput(f"a booking may last at most {LONGEST.days} days", {"field": "end"})
    if start < now - PAST_GRACE:
        raise InvalidInput("the booking starts in the past", {"field": "start"})
    if limits is not None:
        _check_limits(start, end, now, limits)
    _check_opening_hours(start, end, tz, settings)


def _check_limits(start: datetime, end: datetime, now: datetime, limits: RentalLimits) -> None:
    if end - start < timedelta(hours=limits.min_booking_hours):
        raise InvalidInput(
            f"bookings here last at least {limits.min_booking_hours} hours",
            {"field": "end", "rule": "RENTAL_MIN_HOURS"},
        )
    if start - now > timedelta(days=limits.max_advance_days):
        raise InvalidInput(
            f"bookings open {limits.max_advance_days} days ahead",
            {"field": "start", "rule": "RENTAL_ADVANCE_LIMIT"},
        )


def _check_opening_hours(
    start: datetime, end: datetime, tz: ZoneInfo, settings: BookingSettings
) -> None:
    opens, closes = time.fromisoformat(settings.opens), time.fromisoformat(settings.closes)
    day = start.astimezone(tz).date()
    for candidate in (
        day - timedelta(days=1),
        day,
    ):  # an after-midnight start may belong to yesterday
        window_start = to_utc(datetime.combine(candidate, opens), tz)
        close_day = candidate + timedelta(days=1) if closes <= opens else candidate
        window_end = to_utc(datetime.combine(close_day, closes), tz)
        if window_start <= start and end <= window_end:
            return
    raise InvalidInput(
        f"the site is open {settings.opens}-{settings.closes} local time",
        {"field": "start", "opens": settings.opens, "closes": settings.closes},
    )
