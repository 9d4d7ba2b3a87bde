"""Making a scenario worse never makes its verdict better, and the outcome follows the results.

A scenario is a compliant base (every permit, insurance and notice its jurisdiction asks for; a
10:00-14:00 weekday booking in November 2025) plus a set of named degradations. Each degradation
is applied to the *final* booking (an inspection overlaps wherever the booking ends up), so sets
of them compose and adding one can only add a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_db.compliance import evaluate_json
from reference_db.rulebook import RuleBook
from sync.verdicts import BLOCKING_SEVERITIES, OUTCOME_RANK, Outcome, Verdict

AS_OF = datetime.fromisoformat("2025-11-05T09:00:00+00:00")
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
PERMITS = {
    "san_francisco": ("shared_kitchen", "fire", "ventilation", "health_permit"),
    "portland": ("commissary", "fire", "ventilation", "health_permit"),
    "seattle": ("TFE", "commissary", "fire", "ventilation", "health_permit"),
}
INSURED = {
    "san_francisco": "City and County of San Francisco",
    "portland": "City of Portland and Multnomah County",
    "seattle": "City of Seattle and King County",
}
# Each degradation and the rule it must raise (a violation, or for the season a condition).
EXPECTED = {
    "liability": "INSURANCE_LIABILITY",
    "aggregate": "INSURANCE_AGGREGATE",
    "insured_text": "INSURANCE_ADDITIONAL_INSURED",
    "quiet": "SOUND_QUIET_HOURS",
    "ada": "ADA_ACCESSIBILITY",
    "grease": "GREASE_MAINTENANCE",
    "inspection": "INSPECTION_CONFLICT",
    "maintenance": "MAINTENANCE_BUFFER",
    "short": "RENTAL_MIN_HOURS",
    "over_cap": "RENTAL_LIMIT_DAILY",
    "outdoor_december": "SEASONAL_NOTICE",
}
NOVEMBER_WEEKDAYS = [date(2025, 11, d) for d in range(6, 29) if date(2025, 11, d).weekday() < 5]
CHECKED = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Base:
    """The compliant scenario's free choices (none of them is a problem on its own)."""

    jurisdiction: str
    day: date
    quiet_start: time  # where the "quiet" degradation moves the booking's start
    aware: bool  # instants with a UTC offset instead of local wall times
    fees: bool  # ask for fee disclosure (a condition, not a violation)
    insured_text: str
    permit_status: str
    district: str | None


def degradations(jurisdiction: str) -> list[str]:
    dropped = [f"drop:{kind}" for kind in PERMITS[jurisdiction]]
    seasonal = ["outdoor_december"] if jurisdiction == "seattle" else []
    return [*dropped, *(k for k in EXPECTED if k != "outdoor_december"), *seasonal]


def expected_rule(degradation: str) -> str:
    if degradation.startswith("drop:"):
        return "PERMIT_" + degradation.removeprefix("drop:").upper()
    return EXPECTED[degradation]


@st.composite
def bases(draw: st.DrawFn) -> Base:
    jurisdiction = draw(st.sampled_from(sorted(PERMITS)))
    phrase = INSURED[jurisdiction]
    insured = draw(
        st.sampled_from(
            [
                phrase,
                phrase.upper(),
                f"Acme Mutual; additional insured: {phrase}, its officers",
                phrase.replace(" ", "\n  ", 2),
            ]
        )
    )
    return Base(
        jurisdiction=jurisdiction,
        day=draw(st.sampled_from(NOVEMBER_WEEKDAYS)),
        quiet_start=draw(st.sampled_from([time(5), time(5, 30), time(21, 30), time(22)])),
        aware=draw(st.booleans()),
        fees=draw(st.booleans()),
        insured_text=insured,
        permit_status=draw(st.sampled_from(["active", "valid", "approved", " Active "])),
        district=draw(st.sampled_from([None, "NC-3", "PDR-1-D", "M-1"])),
    )


@st.composite
def degraded(draw: st.DrawFn) -> tuple[Base, frozenset[str], str]:
    """A base, a set of degradations, and one more degradation not in the set."""
    base = draw(bases())
    options = degradations(base.jurisdiction)
    flags = frozenset(
        draw(st.lists(st.sampled_from(options), unique=True, max_size=len(options) - 1))
    )
    extra = draw(st.sampled_from([d for d in options if d not in flags]))
    return base, flags, extra


@dataclass(frozen=True)
class Placed:
    """The booking window after "quiet", "short" and "outdoor_december", and how to write it."""

    start: datetime
    end: datetime
    tz: ZoneInfo
    aware: bool

    def span(self, start: datetime, end: datetime) -> dict[str, str]:
        """A window in the scenario's style: local wall times, or instants with their offset."""
        if self.aware:
            start, end = start.replace(tzinfo=self.tz), end.replace(tzinfo=self.tz)
        return {"start": start.isoformat(), "end": end.isoformat()}


def build(base: Base, flags: frozenset[str], book: RuleBook) -> dict[str, Any]:
    """The scenario JSON for ``base`` with ``flags`` applied."""
    rules = book.resolve(base.jurisdiction)
    assert rules.rental is not None and rules.grease is not None
    day = base.day + timedelta(days=28) if "outdoor_december" in flags else base.day
    start = datetime.combine(day, base.quiet_start if "quiet" in flags else time(10))
    end = start + timedelta(hours=1 if "short" in flags else 4)
    placed = Placed(start, end, rules.tz, base.aware)
    grease_days = rules.grease.max_service_interval_days + 3 if "grease" in flags else 10
    over_cap = "over_cap" in flags
    return {
        "jurisdiction": base.jurisdiction,
        "as_of": AS_OF.isoformat(),
        "site": site(base, flags, placed, AS_OF - timedelta(days=grease_days)),
        "renter": renter(base, flags),
        "booking": booking(base, flags, placed),
        "same_day_bookings": others(placed, rules.rental.max_hours_per_day) if over_cap else [],
    }


def site(base: Base, flags: frozenset[str], placed: Placed, serviced: datetime) -> dict[str, Any]:
    held = [kind for kind in PERMITS[base.jurisdiction] if f"drop:{kind}" not in flags]
    inspection = placed.span(placed.start + 15 * MINUTE, placed.start + 45 * MINUTE)
    maintenance = placed.span(placed.end + 10 * MINUTE, placed.end + 70 * MINUTE)
    zoning = {
        "district": base.district if base.jurisdiction == "san_francisco" else None,
        "neighborhood_notice_doc_id": "notice-300ft",
        "community_notice_doc_id": "community-letter",
    }
    return {
        "permits": [{"kind": kind, "status": base.permit_status} for kind in held],
        "zoning": zoning,
        "ada_accessible": "ada" not in flags,
        "grease": {"last_service_at": serviced.isoformat()},
        "inspections": [{"kind": "health", **inspection}] if "inspection" in flags else [],
        "maintenance": [maintenance] if "maintenance" in flags else [],
    }


def renter(base: Base, flags: frozenset[str]) -> dict[str, Any]:
    named = "City of Oakland" if "insured_text" in flags else base.insured_text
    insurance = {
        "general_liability_cents": 50_000_000 if "liability" in flags else 100_000_000,
        "aggregate_cents": 150_000_000 if "aggregate" in flags else 200_000_000,
        "additional_insured_text": named,
        "expires_at": "2026-10-31",
    }
    card = {"kind": "food_handler_card", "status": "approved", "expires_at": "2026-06-30"}
    return {"insurance": insurance, "requires_ada_access": "ada" in flags, "documents": [card]}


def booking(base: Base, flags: frozenset[str], placed: Placed) -> dict[str, Any]:
    fields: dict[str, Any] = {**placed.span(placed.start, placed.end), "fees_required": base.fees}
    if base.fees:
        fields |= {"base_cents": 19500, "cleaning_fee_cents": 2500, "platform_fee_cents": 2200}
    if "outdoor_december" in flags:
        fields["product_type"] = "outdoor_cooking"
    return fields


def others(placed: Placed, cap_hours: int) -> list[dict[str, str]]:
    """Other bookings on the booking's local start day adding up to the whole daily cap."""
    midnight = datetime.combine(placed.start.date(), time())
    hours = [(h, min(h + 4, cap_hours)) for h in range(0, cap_hours, 4)]
    return [placed.span(midnight + a * HOUR, midnight + b * HOUR) for a, b in hours]


def violation_ids(verdict: Verdict) -> set[str]:
    return {v.rule_id for v in verdict.violations}


def assert_outcome_follows(verdict: Verdict) -> None:
    blocking = sum(v.severity in BLOCKING_SEVERITIES for v in verdict.violations)
    assert (verdict.result is Outcome.DENY) == (blocking > 0)
    assert verdict.blocking_violations_count == blocking
    assert (verdict.result is Outcome.ALLOW) == (not verdict.violations and not verdict.conditions)


@CHECKED
@given(degraded())
def test_one_more_degradation_never_improves_the_verdict(
    book: RuleBook, case: tuple[Base, frozenset[str], str]
) -> None:
    base, flags, extra = case
    before = evaluate_json(build(base, flags, book), book)
    after = evaluate_json(build(base, flags | {extra}, book), book)
    assert OUTCOME_RANK[after.result] >= OUTCOME_RANK[before.result]
    assert violation_ids(before) <= violation_ids(after)
    assert_outcome_follows(before)
    assert_outcome_follows(after)


@CHECKED
@given(degraded())
def test_every_degradation_is_reported(
    book: RuleBook, case: tuple[Base, frozenset[str], str]
) -> None:
    base, flags, extra = case
    verdict = evaluate_json(build(base, flags | {extra}, book), book)
    reported = violation_ids(verdict) | {c.rule_id for c in verdict.conditions}
    assert {expected_rule(d) for d in flags | {extra}} <= reported


@settings(max_examples=100, deadline=None)
@given(bases())
def test_the_compliant_base_has_no_violations(book: RuleBook, base: Base) -> None:
    verdict = evaluate_json(build(base, frozenset(), book), book)
    assert verdict.violations == []
    assert verdict.result is (Outcome.CONDITIONS if base.fees else Outcome.ALLOW)
