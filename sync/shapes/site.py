"""Site setup shapes of the edge API: the site, its resources (stations) and its renters.

The site and renter shapes extend the compliance scenario's ``site`` and ``renter`` sections
(``sync.scenarios``) with their names and contact details; what the engine reads is stored as
the record's profile exactly as the scenario expects it. Request shapes refuse unknown keys
(a typo in a PATCH must not pass silently) and never take a number from a string.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from sync import scenarios

MAX_NAME = 200
MAX_ITEMS = 200
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_RATE_CENTS = 10**12

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_MIN_PHONE_DIGITS = 5

ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME, strip_whitespace=True)
]


def _number(value: object) -> object:
    """Refuse strings and booleans where a number belongs (the API does not coerce them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def _whole_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


Latitude = Annotated[float, BeforeValidator(_number), Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, BeforeValidator(_number), Field(ge=-180, le=180, allow_inf_nan=False)]
RateCents = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=MAX_RATE_CENTS)]

SITE_PROFILE_FIELDS = frozenset(scenarios.Site.model_fields)
RENTER_PROFILE_FIELDS = frozenset(scenarios.Renter.model_fields)


class SitePatch(scenarios.Site):
    """``PATCH /site``: only the keys present change; scenario keys replace their whole value."""

    model_config = ConfigDict(extra="forbid")

    permits: list[scenarios.Permit] = Field(default_factory=list, max_length=MAX_ITEMS)
    inspections: list[scenarios.Inspection] = Field(default_factory=list, max_length=MAX_ITEMS)
    maintenance: list[scenarios.Window] = Field(default_factory=list, max_length=MAX_ITEMS)
    name: ShortText | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class SiteOut(scenarios.Site):
    """The site: its identity, where it is, and its scenario profile (permits, zoning, ...)."""

    id: str
    name: str
    jurisdiction: str
    timezone: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    updated_at: datetime


class ResourceCreate(scenarios.Shape):
    """``POST /resources``: a bookable station or room and its hourly rate."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    kind: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    hourly_rate_cents: RateCents


class ResourceOut(scenarios.Shape):
    id: str
    site_id: str
    name: str
    kind: str
    hourly_rate_cents: int
    active: bool
    created_at: datetime


class RenterCreate(scenarios.Renter):
    """``POST /renters``: the scenario's renter section plus name and contact details."""

    model_config = ConfigDict(extra="forbid")

    documents: list[scenarios.RenterDocument] | None = Field(default=None, max_length=MAX_ITEMS)
    activities: list[ShortText] = Field(default_factory=list, max_length=MAX_ITEMS)
    certifications: list[scenarios.FederalCertificate | ShortText] = Field(
        default_factory=list, max_length=MAX_ITEMS
    )
    name: ShortText
    email: Annotated[str, StringConstraints(max_length=MAX_EMAIL, strip_whitespace=True)] | None = (
        None
    )
    phone: Annotated[str, StringConstraints(max_length=MAX_PHONE, strip_whitespace=True)] | None = (
        None
    )

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.fullmatch(value) or digits < _MIN_PHONE_DIGITS:
            raise ValueError("not a phone number (digits, spaces, + ( ) . / -)")
        return value


class RenterOut(scenarios.Renter):
    """A renter; contact details decrypted for those allowed to see them."""

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    created_at: datetime
