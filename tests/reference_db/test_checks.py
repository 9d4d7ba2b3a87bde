"""Individual compliance checks, including the earlier engines' known defects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reference_db.compliance import evaluate_json
from reference_db.errors import InvalidScenario, UnknownJurisdiction
from reference_db.rulebook import RuleBook
from sync.verdicts import Verdict

AS_OF = "2025-11-05T09:00:00Z"
SF_OK: dict[str, Any] = {
    "jurisdiction": "san_francisco",
    "as_of": AS_OF,
    "site": {
        "permits": [
            {"kind": k, "status": "active", "expires_at": "2026-12-31"}
            for k in ("shared_kitchen", "fire", "ventilation", "health_permit")
        ],
        "zoning": {"district": "PDR", "neighborhood_notice_doc_id": "n1"},
        "ada_accessible": True,
    },
    "renter": {
        "insurance": {
            "general_liability_cents": 100_000_000,
            "aggregate_cents": 200_000_000,
            "additional_insured_text": "city and county of SAN FRANCISCO",
        }
    },
    "booking": {
        "start": "2025-11-15T10:00:00",
        "end": "2025-11-15T14:00:00",
        "product_type": "baked_goods",
    },
}


def _run(book: RuleBook, **changes: Any) -> Verdict:
    scenario = copy.deepcopy(SF_OK)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = scenario
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return evaluate_json(scenario, book)


def _ids(verdict: Verdict) -> set[str]:
    return {v.rule_id for v in verdict.violations + verdict.conditions}


def _warned(verdict: Verdict) -> set[str]:
    return {w.rule_id for w in verdict.warnings}


def test_the_base_scenario_is_allowed_and_the_phrase_match_ignores_case(book: RuleBook) -> None:
    verdict = _run(book)
    assert (verdict.result, verdict.violations, verdict.warnings) == ("ALLOW", [], [])


def test_naive_times_are_local_not_utc(book: RuleBook) -> None:
    # 10:00-12:00 in San Francisco is daytime; read as UTC it would be 02:00-04:00, in quiet hours.
    assert "SOUND_QUIET_HOURS" not in _ids(_run(book, booking__end="2025-11-15T12:00:00"))
    # Aware instants keep their offset: 14:00Z is 06:00 PST, the end of quiet hours; 13:30Z is not.
    assert "SOUND_QUIET_HOURS" not in _ids(
        _run(book, booking__start="2025-11-15T14:00:00Z", booking__end="2025-11-15T16:00:00Z")
    )
    assert "SOUND_QUIET_HOURS" in _ids(
        _run(book, booking__start="2025-11-15T13:30:00Z", booking__end="2025-11-15T16:00:00Z")
    )


def test_evening_booking_into_quiet_hours_is_caught(book: RuleBook) -> None:
    verdict = _run(book, booking__start="2025-11-15T18:00:00", booking__end="2025-11-15T23:00:00")
    assert "SOUND_QUIET_HOURS" in _ids(verdict)
    assert verdict.result == "DENY"


def test_daily_cap_counts_the_days_other_bookings(book: RuleBook) -> None:
    same_day = [{"start": "2025-11-15T00:00:00", "end": "2025-11-15T09:00:00"}]
    other_day = [{"start": "2025-11-14T08:00:00", "end": "2025-11-14T20:00:00"}]
    assert "RENTAL_LIMIT_DAILY" in _ids(_run(book, same_day_bookings=same_day))
    assert "RENTAL_LIMIT_DAILY" not in _ids(_run(book, same_day_bookings=other_day))
    assert "RENTAL_LIMIT_DAILY" not in _ids(
        _run(
            book, same_day_bookings=[{"start": "2025-11-15T00:00:00", "end": "2025-11-15T08:00:00"}]
        )
    )  # 8 + 4 = 12, the cap


def test_minimum_hours_and_advance_limit(book: RuleBook) -> None:
    assert "RENTAL_MIN_HOURS" in _ids(_run(book, booking__end="2025-11-15T11:30:00"))
    far = _run(book, booking__start="2026-06-01T10:00:00", booking__end="2026-06-01T14:00:00")
    assert "RENTAL_ADVANCE_LIMIT" in _ids(far)
    assert far.result == "CONDITIONS"


def test_seasonal_restrictions_have_date_ranges_that_wrap_the_year(book: RuleBook) -> None:
    seattle = {"jurisdiction": "seattle", "booking__product_type": "outdoor_cooking"}
    summer = _run(
        book, **seattle, booking__start="2026-01-20T10:00:00", booking__end="2026-01-20T12:00:00"
    )
    july = _run(
        book,
        **seattle,
        booking__start="2025-07-20T10:00:00",
        booking__end="2025-07-20T12:00:00",
        as_of="2025-07-01T00:00:00Z",
    )
    assert "SEASONAL_NOTICE" in _ids(summer)
    assert "SEASONAL_NOTICE" not in _ids(july)


def test_seasonal_prohibition_denies(book: RuleBook) -> None:
    verdict = _run(
        book,
        jurisdiction="san_bernardino_county",
        booking__product_type="outdoor_cooking",
        booking__start="2025-08-01T10:00:00",
        booking__end="2025-08-01T12:00:00",
        as_of="2025-07-20T00:00:00Z",
    )
    assert "SEASONAL_PROHIBITED" in _ids(verdict)
    assert verdict.result == "DENY"


@pytest.mark.parametrize(
    ("kind", "start", "end", "clash"),
    [
        ("health", "2025-11-15T18:00:00", "2025-11-15T19:00:00", False),  # 4 h gap = 4 h before
        ("health", "2025-11-15T17:30:00", "2025-11-15T18:00:00", True),  # 3.5 h gap < 4 h before
        ("health", "2025-11-15T07:00:00", "2025-11-15T08:30:00", True),  # 1.5 h gap < 2 h after
        ("health", "2025-11-15T07:00:00", "2025-11-15T08:00:00", False),  # 2 h gap = 2 h after
        ("fire", "2025-11-15T15:30:00", "2025-11-15T16:00:00", True),  # 1.5 h gap < 2 h before
        ("fire", "2025-11-15T16:00:00", "2025-11-15T16:30:00", False),  # 2 h gap = 2 h before
        ("fire", "2025-11-15T08:30:00", "2025-11-15T09:00:00", False),  # 1 h gap = 1 h after
    ],
)
def test_inspection_buffers_are_asymmetric(
    book: RuleBook, kind: str, start: str, end: str, clash: bool
) -> None:
    booking = {"booking__start": "2025-11-15T10:00:00", "booking__end": "2025-11-15T14:00:00"}
    verdict = _run(book, **booking, site__inspections=[{"kind": kind, "start": start, "end": end}])
    assert ("INSPECTION_CONFLICT" in _ids(verdict)) is clash


def test_latest_failed_inspection_denies_until_a_pass(book: RuleBook) -> None:
    failed = {
        "kind": "health",
        "start": "2025-10-01T09:00:00",
        "end": "2025-10-01T10:00:00",
        "result": "fail",
    }
    passed = {
        "kind": "health",
        "start": "2025-10-20T09:00:00",
        "end": "2025-10-20T10:00:00",
        "result": "pass",
    }
    assert "INSPECTION_FAILED" in _ids(_run(book, site__inspections=[failed]))
    assert "INSPECTION_FAILED" not in _ids(_run(book, site__inspections=[failed, passed]))


def test_insurance_expiry_is_checked(book: RuleBook) -> None:
    expired = _run(book, renter__insurance__expires_at="2025-11-01")
    ends_before_booking = _run(book, renter__insurance__expires_at="2025-11-14")
    expiring = _run(book, renter__insurance__expires_at="2025-11-20")
    assert "INSURANCE_EXPIRED" in _ids(expired)
    assert "INSURANCE_EXPIRED" in _ids(ends_before_booking)
    assert expiring.result == "ALLOW"
    assert "INSURANCE_EXPIRING" in _warned(expiring)


def test_permits_must_be_valid_through_the_booking(book: RuleBook) -> None:
    permits = copy.deepcopy(SF_OK["site"]["permits"])
    permits[1]["expires_at"] = "2025-11-15T12:00:00"
    assert "PERMIT_FIRE" in _ids(_run(book, site__permits=permits))
    permits[1]["expires_at"] = "2025-11-20"
    soon = _run(book, site__permits=permits)
    assert soon.result == "ALLOW"
    assert "PERMIT_EXPIRING" in _warned(soon)
    permits[1]["status"] = "suspended"
    assert "PERMIT_FIRE" in _ids(_run(book, site__permits=permits))


def test_permit_kinds_accept_the_document_vocabulary(book: RuleBook) -> None:
    permits = [
        {"kind": k, "status": "active"}
        for k in ("shared_kitchen_permit", "fire_permit", "ventilation_permit", "health_permit")
    ]
    assert _run(book, site__permits=permits).result == "ALLOW"


@pytest.mark.parametrize(
    ("documents", "blocked"),
    [
        ([], True),
        ([{"kind": "food_handler_card", "status": "rejected"}], True),
        ([{"kind": "food_handler_card", "status": "approved", "expires_at": "2025-11-01"}], True),
        ([{"kind": "food_handler_card", "status": "approved", "expires_at": "2027-01-01"}], False),
    ],
)
def test_renter_documents(book: RuleBook, documents: list[dict[str, str]], blocked: bool) -> None:
    verdict = _run(book, renter__documents=documents)
    assert ("DOC_FOOD_HANDLER_CARD" in _ids(verdict)) is blocked


def test_a_document_awaiting_review_is_a_condition_not_a_refusal(book: RuleBook) -> None:
    verdict = _run(book, renter__documents=[{"kind": "food_handler_card", "status": "pending"}])
    assert verdict.result == "CONDITIONS"
    assert [c.rule_id for c in verdict.conditions] == ["DOC_REVIEW_PENDING"]


def test_grease_due_soon_warns_without_changing_the_verdict(book: RuleBook) -> None:
    verdict = _run(book, site__grease={"last_service_at": "2025-05-25T08:00:00"})
    assert verdict.result == "ALLOW"
    assert "GREASE_DUE_SOON" in _warned(verdict)


def test_federal_scope_needs_a_certificate_backed_by_a_valid_chain(book: RuleBook) -> None:
    uncertified = _run(book, renter__activities=["seafood"])
    assert "FEDERAL_SCOPE_UNCERTIFIED" in _ids(uncertified)
    certificate = {"scope": "SEAFOOD_HACCP", "certification_body": "DEKRA Certification Inc."}
    certified = _run(book, renter__activities=["seafood"], renter__certifications=[certificate])
    assert _ids(certified) == set()
    lapsed = _run(
        book,
        renter__activities=["seafood"],
        renter__certifications=[certificate],
        as_of="2026-10-01T00:00:00Z",
        booking__start="2026-10-02T10:00:00",
        booking__end="2026-10-02T14:00:00",
    )
    assert {"FEDERAL_CHAIN_INVALID", "FEDERAL_SCOPE_UNCERTIFIED"} <= _ids(lapsed)


def test_partial_rule_packs_say_so(book: RuleBook) -> None:
    verdict = _run(book, jurisdiction="oakland")
    assert "RULEPACK_PARTIAL" in _warned(verdict)


def test_bad_input_is_refused(book: RuleBook) -> None:
    with pytest.raises(UnknownJurisdiction):
        _run(book, jurisdiction="atlantis")
    with pytest.raises(InvalidScenario):
        _run(book, booking__end="2025-11-15T09:00:00")
    with pytest.raises(InvalidScenario):
        _run(book, booking__end="2025-11-15T17:00:00Z")  # 09:00 local, before a naive 10:00 start
    with pytest.raises(InvalidScenario, match="as_of"):
        _run(book, as_of=None)


def test_a_family_override_does_not_change_a_rule_of_its_own(book: RuleBook) -> None:
    permits = copy.deepcopy(SF_OK["site"]["permits"])
    permits[0]["expires_at"] = "2025-11-20"
    verdict = _run(book, site__permits=permits)
    assert [(w.rule_id, w.severity) for w in verdict.warnings] == [("PERMIT_EXPIRING", "info")]
