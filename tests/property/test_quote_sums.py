"""Quotes add up: lines sum to the fees, totals to subtotal plus fees, each line rounded half up.

The properties hold for any amounts; the fixed examples pin the figures themselves, computed by
hand from the published rates (SF CRT 3.5 % of base; Multnomah lodging 11.5 % of base, cleaning
and platform fee; King County lodging 2 % of base and cleaning; Seattle B&O 0.44 % of platform fee).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_db.fees import quote
from reference_db.rulebook import RuleBook
from sync.quotes import Quote, QuoteRequest

TAXED = ["san_francisco", "portland", "seattle"]
CHECKED = settings(max_examples=200, deadline=None)
cents = st.one_of(st.integers(0, 10_000_000), st.sampled_from([0, 1, 50, 100, 2200, 19500]))


@st.composite
def requests(draw: st.DrawFn) -> QuoteRequest:
    """A request for a taxed jurisdiction, priced by ``base_cents`` or by hours at a rate."""
    fields: dict[str, object] = {
        "jurisdiction": draw(st.sampled_from(TAXED)),
        "cleaning_fee_cents": draw(cents),
        "platform_fee_cents": draw(cents),
    }
    if draw(st.booleans()):
        fields["base_cents"] = draw(cents)
    else:
        fields["hours"] = draw(st.decimals(0, 24 * 366, places=2))
        fields["hourly_rate_cents"] = draw(st.integers(0, 50_000))
    return QuoteRequest.model_validate(fields)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@CHECKED
@given(requests())
def test_totals_add_up(book: RuleBook, request: QuoteRequest) -> None:
    result = quote(request, book)
    assert sum(line.amount_cents for line in result.line_items) == result.total_fees_cents
    parts = result.base_cents + result.cleaning_fee_cents + result.platform_fee_cents
    assert result.subtotal_cents == parts
    assert result.total_cents == result.subtotal_cents + result.total_fees_cents


@CHECKED
@given(requests())
def test_each_line_is_its_rate_of_a_non_zero_base_rounded_half_up(
    book: RuleBook, request: QuoteRequest
) -> None:
    for line in quote(request, book).line_items:
        assert line.base_cents > 0
        assert line.amount_cents == half_up(Decimal(line.base_cents) * Decimal(line.rate))


@CHECKED
@given(requests())
def test_hours_at_a_rate_price_the_base_rounded_half_up(
    book: RuleBook, request: QuoteRequest
) -> None:
    result = quote(request, book)
    if request.base_cents is not None:
        assert result.base_cents == request.base_cents
    else:
        assert request.hours is not None and request.hourly_rate_cents is not None
        assert result.base_cents == half_up(request.hours * request.hourly_rate_cents)


def lines(result: Quote) -> dict[str, tuple[int, int]]:
    """``code -> (base_cents, amount_cents)`` of every line."""
    return {line.code: (line.base_cents, line.amount_cents) for line in result.line_items}


@pytest.mark.parametrize(
    ("fields", "expected_lines", "expected_total"),
    [
        # 3.5 % of 195.00 is 6.825 -> 6.83
        ({"jurisdiction": "san_francisco", "base_cents": 19500}, {"CRT": (19500, 683)}, 20183),
        # 11.5 % of 242.00 is 27.83 exactly
        (
            {
                "jurisdiction": "portland",
                "base_cents": 19500,
                "cleaning_fee_cents": 2500,
                "platform_fee_cents": 2200,
            },
            {"Lodging": (24200, 2783)},
            26983,
        ),
        # 2 % of 220.00 is 4.40; 0.44 % of 22.00 is 0.0968 -> 0.10
        (
            {
                "jurisdiction": "seattle",
                "base_cents": 19500,
                "cleaning_fee_cents": 2500,
                "platform_fee_cents": 2200,
            },
            {"KingCountyLodging": (22000, 440), "B&O": (2200, 10)},
            24650,
        ),
        # the half-up boundary: 3.5 % of 1.00 is 0.035 -> 0.04
        ({"jurisdiction": "san_francisco", "base_cents": 100}, {"CRT": (100, 4)}, 104),
        # 2.5 hours at 33.33 is 83.325 -> 83.33; CRT 3.5 % of it is 2.91655 -> 2.92
        (
            {"jurisdiction": "san_francisco", "hours": "2.5", "hourly_rate_cents": 3333},
            {"CRT": (8333, 292)},
            8625,
        ),
        # a zero base: CRT applies to the base only, so no line at all
        ({"jurisdiction": "san_francisco", "base_cents": 0, "cleaning_fee_cents": 2500}, {}, 2500),
        ({"jurisdiction": "portland", "base_cents": 0}, {}, 0),
        ({"jurisdiction": "seattle", "base_cents": 0}, {}, 0),
    ],
)
def test_hand_computed_quotes(
    book: RuleBook,
    fields: dict[str, object],
    expected_lines: dict[str, tuple[int, int]],
    expected_total: int,
) -> None:
    result = quote(QuoteRequest.model_validate(fields), book)
    assert lines(result) == expected_lines
    assert result.total_fees_cents == sum(amount for _, amount in expected_lines.values())
    assert result.total_cents == expected_total
