"""The compliance scenario: a site, a renter and a booking to evaluate "as of" an instant.

This is the input of ``prep-refdb evaluate`` and ``POST /api/v1/compliance/evaluate``
(CONTRACT.md). Optional sections may be absent; what an absent section means is decided by
the engine (an absent permit list means no permits; absent grease records are not checked).
The earlier platform's kernel names (``kitchen_data``, ``maker_data``, ``booking_data``,
``jurisdiction_id``) are accepted as aliases so its golden files evaluate unchanged.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from sync.instants import Expiry, Instant
from sync.quotes import MAX_CENTS

Name = str
_SHORT = 200


class Shape(BaseModel):
    """Base of every input shape: unknown keys are ignored, names or aliases accepted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Window(Shape):
    """A half-open interval ``[start, end)``."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _end_after_start(self) -> Window:
        if (self.start.tzinfo is None) == (self.end.tzinfo is None) and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Permit(Shape):
    kind: str = Field(max_length=_SHORT)
    status: str = Field(default="active", max_length=_SHORT)
    expires_at: Expiry | None = None
    issued_at: Instant | None = None


class Zoning(Shape):
    district: str | None = Field(default=None, max_length=_SHORT)
    neighborhood_notice_doc_id: str | None = Field(default=None, max_length=_SHORT)
    notice_date: Instant | None = None
    community_notice_doc_id: str | None = Field(default=None, max_length=_SHORT)
    community_notice_date: Instant | None = None


class Grease(Shape):
    last_service_at: Instant | None = None


class Inspection(Shape):
    """A scheduled or past inspection; ``result`` is ``pass``, ``fail`` or absent."""

    kind: str = Field(default="health", max_length=_SHORT)
    start: Instant | None = None
    end: Instant | None = None
    result: str | None = Field(default=None, max_length=_SHORT)


class Site(Shape):
    permits: list[Permit] = Field(default_factory=list)
    zoning: Zoning | None = None
    ada_accessible: bool | None = None
    grease: Grease | None = None
    inspections: list[Inspection] = Field(default_factory=list)
    maintenance: list[Window] = Field(default_factory=list)


class Insurance(Shape):
    general_liability_cents: int = Field(default=0, ge=0, le=MAX_CENTS)
    aggregate_cents: int = Field(default=0, ge=0, le=MAX_CENTS)
    additional_insured_text: str | None = Field(default=None, max_length=2000)
    expires_at: Expiry | None = None


class RenterDocument(Shape):
    kind: str = Field(max_length=_SHORT)
    status: str = Field(default="pending", max_length=_SHORT)
    expires_at: Expiry | None = None


class FederalCertificate(Shape):
    """A facility certificate issued by a certification body for a federal scope."""

    scope: str = Field(max_length=_SHORT)
    certification_body_id: int | None = None
    certification_body: str | None = Field(default=None, max_length=_SHORT)
    expires_at: Expiry | None = None


class Renter(Shape):
    insurance: Insurance | None = None
    requires_ada_access: bool = False
    documents: list[RenterDocument] | None = None
    activities: list[str] = Field(default_factory=list)
    certifications: list[FederalCertificate | str] = Field(default_factory=list)


class Booking(Window):
    product_type: str | None = Field(default=None, max_length=_SHORT)
    fees_required: bool = False
    base_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    cleaning_fee_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    platform_fee_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)


class Scenario(Shape):
    """Everything the compliance engine needs; ``as_of`` is "now" and always an input."""

    jurisdiction: str = Field(
        max_length=_SHORT, validation_alias=AliasChoices("jurisdiction", "jurisdiction_id")
    )
    as_of: Instant | None = None
    site: Site = Field(default_factory=Site, validation_alias=AliasChoices("site", "kitchen_data"))
    renter: Renter = Field(
        default_factory=Renter, validation_alias=AliasChoices("renter", "maker_data")
    )
    booking: Booking = Field(validation_alias=AliasChoices("booking", "booking_data"))
    same_day_bookings: list[Window] = Field(default_factory=list)
