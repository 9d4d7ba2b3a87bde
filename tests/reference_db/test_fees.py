"""The earlier team's finance acceptance figures and fee-schedule totals."""

from __future__ import annotations

import pytest

from reference_db.errors import UnknownJurisdiction
from reference_db.fees import quote, schedule_totals
from reference_db.rulebook import RuleBook, ScheduledFee
from sync.quotes import QuoteRequest

BOOKING = {"base_cents": 19_500, "cleaning_fee_cents": 2_500, "platform_fee_cents": 2_200}


def _lines(book: RuleBook, jurisdiction: str) -> dict[str, tuple[int, int]]:
    result = quote(QuoteRequest(jurisdiction=jurisdiction, **BOOKING), book)
    return {line.code: (line.base_cents, line.amount_cents) for line in result.line_items}


def test_san_francisco_commercial_rents_tax_is_3_5_percent_of_base(book: RuleBook) -> None:
    assert _lines(book, "san_francisco") == {"CRT": (19_500, 683)}


def test_portland_lodging_tax_is_11_5_percent_of_base_cleaning_and_platform_fee(
    book: RuleBook,
) -> None:
    assert _lines(book, "portland") == {"Lodging": (24_200, 2_783)}


def test_seattle_lodging_and_b_and_o(book: RuleBook) -> None:
    assert _lines(book, "seattle") == {"KingCountyLodging": (22_000, 440), "B&O": (2_200, 10)}


@pytest.mark.parametrize("jurisdiction", ["san_francisco", "portland", "seattle"])
def test_a_100_dollar_deposit_is_held_separately(book: RuleBook, jurisdiction: str) -> None:
    result = quote(QuoteRequest(jurisdiction=jurisdiction, **BOOKING), book)
    assert result.deposit_cents == 10_000
    assert result.total_cents == 24_200 + result.total_fees_cents


def test_contract_example_totals(book: RuleBook) -> None:
    result = quote(QuoteRequest(jurisdiction="portland", **BOOKING), book)
    assert (result.subtotal_cents, result.total_fees_cents, result.total_cents) == (
        24_200,
        2_783,
        26_983,
    )


def test_half_a_cent_rounds_up(book: RuleBook) -> None:
    # 3.5 % of 300 cents is 10.5 cents: half up gives 11 where banker's rounding gives 10.
    assert _amount(book, 100) == 4
    assert _amount(book, 300) == 11


def _amount(book: RuleBook, base: int) -> int:
    return quote(QuoteRequest(jurisdiction="sf", base_cents=base), book).line_items[0].amount_cents


def test_hours_times_rate_gives_the_base(book: RuleBook) -> None:
    result = quote(
        QuoteRequest(jurisdiction="san_francisco", hours="6.5", hourly_rate_cents=3_000), book
    )
    assert result.base_cents == 19_500
    assert result.line_items[0].amount_cents == 683


def test_taxes_with_a_zero_base_are_left_out(book: RuleBook) -> None:
    result = quote(QuoteRequest(jurisdiction="seattle", base_cents=10_000), book)
    assert [line.code for line in result.line_items] == ["KingCountyLodging"]
    assert quote(QuoteRequest(jurisdiction="seattle"), book).line_items == []


def test_unknown_jurisdiction_is_refused(book: RuleBook) -> None:
    with pytest.raises(UnknownJurisdiction):
        quote(QuoteRequest(jurisdiction="atlantis", base_cents=1), book)


def test_san_francisco_fee_schedule_totals(book: RuleBook) -> None:
    totals = schedule_totals(book.resolve("san_francisco").fee_schedule)
    assert (
        totals.one_time_cents,
        totals.recurring_annualized_cents,
        totals.incremental_fee_count,
    ) == (
        45_000,
        98_000,
        1,
    )


def test_recurring_fees_are_annualised_by_cadence() -> None:
    fees = (
        ScheduledFee("permit", "Annual permit", 10_000, "recurring", "annual", None),
        ScheduledFee("water", "Water testing", 9_500, "recurring", "semi_annual", None),
        ScheduledFee("pest", "Pest control", 100, "recurring", "monthly", None),
        ScheduledFee("review", "Plan review", 7_800, "one_time", None, None),
    )
    totals = schedule_totals(fees)
    assert (totals.recurring_annualized_cents, totals.one_time_cents) == (30_200, 7_800)
