"""Booking and check-in shapes of the edge API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync.instants import Instant
from sync.verdicts import Verdict


class BookingCreate(BaseModel):
    """A new booking; ``id`` (UUIDv7) may come from the client so a retry is harmless."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=36)
    resource_id: str = Field(max_length=36)
    renter_id: str = Field(max_length=36)
    start: Instant
    end: Instant
    status: Literal["hold", "confirmed"] = "confirmed"

    @model_validator(mode="after")
    def _end_after_start(self) -> BookingCreate:
        if (self.start.tzinfo is None) == (self.end.tzinfo is None) and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BookingOut(BaseModel):
    id: str
    site_id: str
    resource_id: str
    renter_id: str
    start: datetime
    end: datetime
    local_start: str
    local_end: str
    status: str
    hold_expires_at: datetime | None = None
    cancel_reason: str | None = None
    price_cents: int
    quote: dict[str, Any]
    created_at: datetime


class CheckInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = Field(default=None, min_length=3, max_length=500)


class CheckInOut(BaseModel):
    booking: BookingOut
    verdict: Verdict
    override_reason: str | None = None
