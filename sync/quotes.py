"""Fee quote shapes: a booking's amounts in, taxes, deposit and totals out, all in cents."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_CENTS = 10**15  # ten trillion dollars: anything larger is a typo, not a booking


class QuoteRequest(BaseModel):
    """A booking to price: ``base_cents``, or ``hours`` times ``hourly_rate_cents``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    jurisdiction: str = Field(max_length=200)
    base_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    hours: Decimal | None = Field(default=None, ge=0, le=24 * 366)
    hourly_rate_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    cleaning_fee_cents: int = Field(default=0, ge=0, le=MAX_CENTS)
    platform_fee_cents: int = Field(default=0, ge=0, le=MAX_CENTS)

    @model_validator(mode="after")
    def _one_way_to_the_base(self) -> QuoteRequest:
        by_hours = self.hours is not None or self.hourly_rate_cents is not None
        if by_hours and self.base_cents is not None:
            raise ValueError("give base_cents or hours with hourly_rate_cents, not both")
        if by_hours and (self.hours is None or self.hourly_rate_cents is None):
            raise ValueError("hours and hourly_rate_cents go together")
        return self


class QuoteLine(BaseModel):
    """One tax or fee: the amount it is charged on and the amount, rounded half up."""

    code: str
    display_name: str
    rate: str
    base_cents: int
    amount_cents: int
    citation: str | None = None


class Quote(BaseModel):
    jurisdiction: str
    base_cents: int
    cleaning_fee_cents: int
    platform_fee_cents: int
    line_items: list[QuoteLine]
    deposit_cents: int
    subtotal_cents: int
    total_fees_cents: int
    total_cents: int
