"""The one vocabulary every package shares: roles, booking states, document kinds, review states."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # central team, all sites
    SUPPORT = "support"  # central team, read and help
    HOST = "host"  # runs a site: setup, overrides, conflicts
    STAFF = "staff"  # at the door: check-in, walk-ins
    RENTER = "renter"  # a food business


class BookingStatus(StrEnum):
    HOLD = "hold"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    CONFLICT = "conflict"


# A booking in one of these states holds its slot (a hold only until it expires).
ACTIVE_BOOKING_STATUSES = frozenset(
    {BookingStatus.HOLD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN}
)


class DocumentKind(StrEnum):
    HEALTH_PERMIT = "health_permit"
    SHARED_KITCHEN_PERMIT = "shared_kitchen_permit"
    FIRE_PERMIT = "fire_permit"
    VENTILATION_PERMIT = "ventilation_permit"
    COMMISSARY_PERMIT = "commissary_permit"
    BUSINESS_LICENSE = "business_license"
    FOOD_HANDLER_CARD = "food_handler_card"
    INSURANCE_COI = "insurance_coi"
    GREASE_SERVICE_RECORD = "grease_service_record"
    NEIGHBORHOOD_NOTICE = "neighborhood_notice"
    COMMUNITY_NOTICE = "community_notice"
    OTHER = "other"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


LONGEST_BOOKING = timedelta(days=14)
"""No booking is longer (hub and edge refuse one): overlap searches look back this far only."""
