"""The booking rules the hub checks itself: order, length, not in the past, rental limits.

Opening hours are a site setting the edge keeps; the hub does not know them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.errors import Conflict, HubError
from reference_db.rulebook import RentalLimits
from sync.vocabulary import LONGEST_BOOKING

HOLD_MINUTES = 15  # as long as an edge's default hold
PAST_GRACE = timedelta(minutes=15)  # a booking made "now" may start a few minutes ago
LONGEST = LONGEST_BOOKING


class BookingRefused(HubError):
    """The booking breaks a rule (422)."""

    code = "booking_refused"


class SlotTaken(Conflict):
    """An active booking holds part of that time on the resource (409)."""

    code = "slot_taken"


def check_span(start: datetime, end: datetime, now: datetime) -> None:
    """``start`` before ``end``, at most ``LONGEST`` apart, not in the past."""
    if end <= start:
        raise BookingRefused("end must be after start", {"field": "end"})
    if end - start > LONGEST:
        raise BookingRefused(f"a booking may last at most {LONGEST.days} days", {"field": "end"})
    if start < now - PAST_GRACE:
        raise BookingRefused("the booking starts in the past", {"field": "start"})


def check_limits(
    start: datetime, end: datetime, now: datetime, limits: RentalLimits | None
) -> None:
    """The jurisdiction's minimum length and advance-booking limit (reference bundle)."""
    if limits is None:
        return
    if end - start < timedelta(hours=limits.min_booking_hours):
        raise BookingRefused(
            f"bookings here last at least {limits.min_booking_hours} hours",
            {"field": "end", "rule": "RENTAL_MIN_HOURS"},
        )
    if start - now > timedelta(days=limits.max_advance_days):
        raise BookingRefused(
            f"bookings open {limits.max_advance_days} days ahead",
            {"field": "start", "rule": "RENTAL_ADVANCE_LIMIT"},
        )
