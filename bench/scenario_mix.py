"""A deterministic mix of compliance scenarios for the benchmarks: compliant and degraded.

Required permits and the additional-insured phrase come from the rule book itself, so the mix
follows the reference data instead of restating it.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from reference_db.rulebook import JurisdictionRules, RuleBook

JURISDICTIONS = ("portland", "san_francisco", "seattle")
NOTICES = {"san_francisco": "neighborhood_notice_doc_id", "portland": "community_notice_doc_id"}
SITE_DEGRADATIONS = ("drop_permit", "ada", "grease", "inspection", "maintenance")
RENTER_DEGRADATIONS = ("liability", "aggregate", "insured")
BOOKING_DEGRADATIONS = ("quiet", "short", "over_cap", "december", "fees")
DEGRADATIONS = (*SITE_DEGRADATIONS, *RENTER_DEGRADATIONS, *BOOKING_DEGRADATIONS)
WEEKDAYS = [date(2025, 11, d) for d in range(6, 29) if date(2025, 11, d).weekday() < 5]


def span(start: datetime, end: datetime, **extra: str) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat(), **extra}


def scenario(rng: random.Random, book: RuleBook) -> dict[str, Any]:
    """A compliant SF/Portland/Seattle scenario with zero to three random degradations."""
    rules = book.resolve(rng.choice(JURISDICTIONS))
    jurisdiction = rules.id
    bad = set(rng.sample(DEGRADATIONS, k=rng.choice((0, 0, 1, 2, 3))))
    if "drop_permit" in bad:
        bad.add("drop:" + rng.choice([p.kind for p in rules.permits]))
    day = rng.choice(WEEKDAYS) + timedelta(days=28 if "december" in bad else 0)
    midnight = datetime(day.year, day.month, day.day)
    start = midnight + timedelta(hours=21 if "quiet" in bad else 10)
    end = start + timedelta(hours=1 if "short" in bad else 4)
    booking = span(start, end, product_type="outdoor_cooking" if "december" in bad else "")
    over_cap = [span(midnight, midnight + timedelta(hours=16))] if "over_cap" in bad else []
    return {
        "jurisdiction": jurisdiction,
        "site": site(rules, bad, start, end),
        "renter": renter(rules, bad),
        "booking": {**booking, "fees_required": "fees" in bad, "base_cents": 19500},
        "same_day_bookings": over_cap,
    }


def site(rules: JurisdictionRules, bad: set[str], start: datetime, end: datetime) -> dict[str, Any]:
    jurisdiction = rules.id
    permits = [p.kind for p in rules.permits if f"drop:{p.kind}" not in bad]
    serviced = "2025-04-20T10:00" if "grease" in bad else "2025-10-20T10:00"
    inspection = span(start + timedelta(minutes=30), start + timedelta(minutes=90), kind="health")
    maintenance = span(end + timedelta(minutes=10), end + timedelta(hours=1))
    return {
        "permits": [{"kind": kind, "status": "active"} for kind in permits],
        "zoning": {NOTICES[jurisdiction]: "notice-1"} if jurisdiction in NOTICES else None,
        "ada_accessible": "ada" not in bad,
        "grease": {"last_service_at": serviced},
        "inspections": [inspection] if "inspection" in bad else [],
        "maintenance": [maintenance] if "maintenance" in bad else [],
    }


def renter(rules: JurisdictionRules, bad: set[str]) -> dict[str, Any]:
    required = rules.insurance.additional_insured if rules.insurance else None
    named = "City of Oakland" if "insured" in bad else required
    insurance = {
        "general_liability_cents": 50_000_000 if "liability" in bad else 100_000_000,
        "aggregate_cents": 150_000_000 if "aggregate" in bad else 200_000_000,
        "additional_insured_text": named,
    }
    return {
        "insurance": insurance,
        "requires_ada_access": "ada" in bad,
        "documents": [{"kind": "food_handler_card", "status": "approved"}],
    }


def scenario_mix(book: RuleBook, count: int, seed: int = 20251105) -> list[dict[str, Any]]:
    """``count`` scenarios, the same for the same seed; permits and insurers from the rules."""
    rng = random.Random(seed)
    return [scenario(rng, book) for _ in range(count)]
