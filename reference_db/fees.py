"""The fee engine: booking taxes, deposit and totals in integer cents, rounded half up per line.

Also the operator's fee schedule (permits and programme fees) with one-time, annualised
recurring and per-event totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from reference_db.rulebook import RuleBook, ScheduledFee, TaxRule
from sync.quotes import Quote, QuoteLine, QuoteRequest

_PER_YEAR = {"annual": 1, "semi_annual": 2, "quarterly": 4, "monthly": 12}


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_lines(taxes: tuple[TaxRule, ...], amounts: Mapping[str, int]) -> list[QuoteLine]:
    """One line per tax whose base (the sum of the amounts it applies to) is not zero."""
    lines = []
    for tax in taxes:
        base = sum(amounts.get(part, 0) for part in tax.applies_to)
        if base == 0:
            continue
        lines.append(
            QuoteLine(
                code=tax.code,
                display_name=tax.display_name,
                rate=str(tax.rate),
                base_cents=base,
                amount_cents=round_half_up(Decimal(base) * tax.rate),
                citation=tax.citation,
            )
        )
    return lines


def quote(request: QuoteRequest, book: RuleBook) -> Quote:
    """Price a booking in its jurisdiction (unknown jurisdictions raise ``UnknownJurisdiction``)."""
    rules = book.resolve(request.jurisdiction)
    if request.base_cents is not None:
        base = request.base_cents
    elif request.hours is not None and request.hourly_rate_cents is not None:
        base = round_half_up(request.hours * request.hourly_rate_cents)
    else:
        base = 0
    amounts = {
        "base": base,
        "cleaning": request.cleaning_fee_cents,
        "platform_fee": request.platform_fee_cents,
    }
    lines = tax_lines(rules.taxes, amounts)
    subtotal = sum(amounts.values())
    fees = sum(line.amount_cents for line in lines)
    return Quote(
        jurisdiction=rules.id,
        base_cents=base,
        cleaning_fee_cents=request.cleaning_fee_cents,
        platform_fee_cents=request.platform_fee_cents,
        line_items=lines,
        deposit_cents=rules.deposit.min_cents if rules.deposit else 0,
        subtotal_cents=subtotal,
        total_fees_cents=fees,
        total_cents=subtotal + fees,
    )


@dataclass(frozen=True)
class ScheduleTotals:
    one_time_cents: int
    recurring_annualized_cents: int
    incremental_fee_count: int
    fees: tuple[ScheduledFee, ...]


def schedule_totals(fees: tuple[ScheduledFee, ...]) -> ScheduleTotals:
    """One-time sum, recurring fees annualised by cadence, and the count of per-event fees."""
    return ScheduleTotals(
        one_time_cents=sum(f.amount_cents for f in fees if f.kind == "one_time"),
        recurring_annualized_cents=sum(
            f.amount_cents * _PER_YEAR[f.cadence or "annual"] for f in fees if f.kind == "recurring"
        ),
        incremental_fee_count=sum(1 for f in fees if f.kind == "incremental"),
        fees=fees,
    )
