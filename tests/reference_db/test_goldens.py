"""The earlier platform's two golden cases reproduce exactly (external acceptance suite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference_db.compliance import evaluate_json
from reference_db.rulebook import RuleBook

GOLDEN_AS_OF = "2025-11-05T09:00:00Z"  # the instant the goldens were evaluated at
GOLDENS = ["los_angeles_county_compliant.json", "san_francisco_violations.json"]


def _golden(seed_data: Path, name: str) -> dict:
    return json.loads((seed_data / "golden" / name).read_text())


@pytest.mark.parametrize("name", GOLDENS)
def test_result_and_violation_order_match(book: RuleBook, seed_data: Path, name: str) -> None:
    golden = _golden(seed_data, name)
    verdict = evaluate_json({**golden, "as_of": GOLDEN_AS_OF}, book)
    expected = golden["expected_result"]
    assert verdict.result == expected["result"]
    assert [(v.rule_id, v.severity) for v in verdict.violations] == [
        (v["rule_id"], v["severity"]) for v in expected["violations"]
    ]
    assert verdict.blocking_violations_count == expected["blocking_violations_count"]
    assert verdict.jurisdiction == expected["jurisdiction_id"]


def test_messages_remedies_and_citations_match_too(book: RuleBook, seed_data: Path) -> None:
    golden = _golden(seed_data, "san_francisco_violations.json")
    verdict = evaluate_json({**golden, "as_of": GOLDEN_AS_OF}, book)
    assert [v.model_dump(mode="json") for v in verdict.violations] == golden["expected_result"][
        "violations"
    ]
    assert (
        verdict.model_dump(mode="json")["evaluated_at"] == golden["expected_result"]["evaluated_at"]
    )


def test_compliant_golden_has_no_warnings_or_conditions(book: RuleBook, seed_data: Path) -> None:
    golden = _golden(seed_data, "los_angeles_county_compliant.json")
    verdict = evaluate_json({**golden, "as_of": GOLDEN_AS_OF}, book)
    assert (verdict.warnings, verdict.conditions) == ([], [])
