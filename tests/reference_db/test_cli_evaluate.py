"""``prep-refdb evaluate``: the verdict JSON of a scenario file, stdin or JSON lines; errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reference_db.bundle_fixtures import (
    GOLDEN_SF,
    SHARED,
    CliResult,
    assert_one_line_error,
    run_cli,
)

AS_OF = "2025-11-05T09:00:00Z"
VERDICT_KEYS = {
    "jurisdiction",
    "result",
    "violations",
    "warnings",
    "conditions",
    "evaluated_at",
    "blocking_violations_count",
    "ruleset_version",
}


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    assert GOLDEN_SF == SHARED / "seed-data" / "golden" / "san_francisco_violations.json"
    if not GOLDEN_SF.is_file():
        pytest.fail(f"the shared golden file is missing at {GOLDEN_SF}")
    return json.loads(GOLDEN_SF.read_text(encoding="utf-8"))


def _scenario(**changes: Any) -> dict[str, Any]:
    """A small valid scenario in the CONTRACT.md shape, with top-level changes."""
    scenario: dict[str, Any] = {
        "jurisdiction": "san_francisco",
        "booking": {"start": "2025-11-15T10:00:00", "end": "2025-11-15T14:00:00"},
    }
    scenario.update(changes)
    return scenario


def _write(tmp_path: Path, data: Any, name: str = "scenario.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _evaluate(capsys: pytest.CaptureFixture[str], source: Path | str, *extra: str) -> CliResult:
    return run_cli(capsys, "evaluate", str(source), "--as-of", AS_OF, *extra)


def _verdict(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    verdict: dict[str, Any] = json.loads(result.out)
    return verdict


# --- verdicts ---------------------------------------------------------------------------------


def test_the_san_francisco_golden_file_is_denied(
    capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    verdict = _verdict(_evaluate(capsys, GOLDEN_SF))
    assert verdict["result"] == "DENY"
    assert verdict["jurisdiction"] == "san_francisco"
    expected = golden["expected_result"]
    assert [(v["rule_id"], v["severity"]) for v in verdict["violations"]] == [
        (v["rule_id"], v["severity"]) for v in expected["violations"]
    ]
    assert verdict["blocking_violations_count"] == expected["blocking_violations_count"]


def test_verdict_has_exactly_the_contract_keys_and_a_utc_evaluated_at(
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = _verdict(_evaluate(capsys, GOLDEN_SF))
    assert set(verdict) == VERDICT_KEYS
    assert verdict["evaluated_at"].endswith("+00:00")
    assert verdict["evaluated_at"] == "2025-11-05T09:00:00+00:00"
    assert isinstance(verdict["ruleset_version"], str) and verdict["ruleset_version"]
    for item in verdict["violations"]:
        assert {"rule_id", "severity", "message"} <= set(item)


def test_as_of_in_another_offset_is_reported_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "evaluate", str(GOLDEN_SF), "--as-of", "2025-11-05T01:00:00-08:00")
    assert _verdict(result)["evaluated_at"] == "2025-11-05T09:00:00+00:00"


def test_dash_reads_the_scenario_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOLDEN_SF.read_text(encoding="utf-8")))
    from_stdin = _verdict(_evaluate(capsys, "-"))
    from_file = _verdict(_evaluate(capsys, GOLDEN_SF))
    assert from_stdin["result"] == "DENY"
    assert from_stdin == from_file


@pytest.mark.parametrize("alias", ["sf", "San Francisco", "SAN FRANCISCO", "san_francisco"])
def test_jurisdiction_aliases_resolve_to_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any], alias: str
) -> None:
    scenario = {k: v for k, v in golden.items() if k != "jurisdiction_id"}
    scenario["jurisdiction"] = alias
    verdict = _verdict(_evaluate(capsys, _write(tmp_path, scenario)))
    assert verdict["jurisdiction"] == "san_francisco"
    assert verdict["result"] == "DENY"


# --- JSON lines -------------------------------------------------------------------------------


def test_jsonl_answers_one_line_per_scenario_with_an_error_line_for_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    good = json.dumps(golden)
    path = _write(tmp_path, f"{good}\n{{not json\n{good}\n", "scenarios.jsonl")
    result = _evaluate(capsys, path, "--jsonl")
    assert result.code == 2
    assert "Traceback" not in result.err
    lines = result.out.splitlines()
    assert len(lines) == 3, result.out
    first, middle, last = (json.loads(line) for line in lines)
    assert first["result"] == last["result"] == "DENY"
    assert set(first) == VERDICT_KEYS
    assert set(middle) == {"error"}
    assert set(middle["error"]) == {"code", "message", "details"}
    assert isinstance(middle["error"]["code"], str) and middle["error"]["code"]
    assert isinstance(middle["error"]["message"], str) and middle["error"]["message"]
    assert middle["error"]["details"] == {"line": 2}


def test_jsonl_of_good_lines_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    good = json.dumps(golden)
    result = _evaluate(capsys, _write(tmp_path, f"{good}\n{good}\n", "ok.jsonl"), "--jsonl")
    assert result.code == 0, result.err
    assert [json.loads(line)["result"] for line in result.out.splitlines()] == ["DENY", "DENY"]


# --- one-line errors, exit 2 ------------------------------------------------------------------


def test_malformed_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _evaluate(capsys, _write(tmp_path, '{"jurisdiction": "sf", '))
    assert_one_line_error(result, "evaluate")
    assert result.out == ""


def test_unknown_jurisdiction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _evaluate(capsys, _write(tmp_path, _scenario(jurisdiction="atlantis")))
    assert "atlantis" in assert_one_line_error(result, "evaluate")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param("2025-11-15T14:00:00Z", "2025-11-15T10:00:00Z", id="aware"),
        pytest.param("2025-11-15T14:00:00", "2025-11-15T10:00:00", id="naive"),
        # mixed: 20:00Z is 12:00 in San Francisco, so a local 09:00 end is before it
        pytest.param("2025-11-15T20:00:00Z", "2025-11-15T09:00:00", id="aware-start-naive-end"),
        pytest.param("2025-11-15T12:00:00", "2025-11-15T19:00:00Z", id="naive-start-aware-end"),
    ],
)
def test_booking_end_before_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, end: str
) -> None:
    scenario = _scenario(booking={"start": start, "end": end})
    assert_one_line_error(_evaluate(capsys, _write(tmp_path, scenario)), "evaluate")


def test_booking_end_equal_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(booking={"start": "2025-11-15T10:00:00", "end": "2025-11-15T10:00:00"})
    assert_one_line_error(_evaluate(capsys, _write(tmp_path, scenario)), "evaluate")


def test_negative_amount(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(renter={"insurance": {"general_liability_cents": -1}})
    line = assert_one_line_error(_evaluate(capsys, _write(tmp_path, scenario)), "evaluate")
    assert "general_liability_cents" in line


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(_evaluate(capsys, tmp_path / "absent.json"), "evaluate")


def test_a_directory_as_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(_evaluate(capsys, tmp_path), "evaluate")


def test_non_utf8_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"jurisdiction": "San Francisco \xe9\xff", "booking": {}}')
    assert_one_line_error(_evaluate(capsys, path), "evaluate")


def test_as_of_without_an_offset(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "evaluate", str(GOLDEN_SF), "--as-of", "2025-11-05T09:00:00")
    assert_one_line_error(result, "evaluate")


def test_as_of_that_is_not_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "evaluate", str(GOLDEN_SF), "--as-of", "yesterday")
    assert_one_line_error(result, "evaluate")


def test_a_json_value_that_is_not_an_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(_evaluate(capsys, _write(tmp_path, "[1, 2, 3]")), "evaluate")


# --- dates at the edge of the calendar: a verdict or a one-line error, never a traceback -------

EDGE_OF_CALENDAR = [
    pytest.param(
        _scenario(booking={"start": "0001-01-01T00:00:00", "end": "0001-01-01T02:00:00"}),
        id="booking-in-year-1",
    ),
    pytest.param(
        _scenario(booking={"start": "9999-12-31T20:00:00", "end": "9999-12-31T23:00:00"}),
        id="booking-in-year-9999",
    ),
    pytest.param(
        _scenario(
            as_of="0001-01-01T00:00:00",
            booking={"start": "0001-01-01T01:00:00", "end": "0001-01-01T02:00:00"},
        ),
        id="as-of-in-year-1",
    ),
    pytest.param(
        _scenario(
            site={"permits": [{"kind": "fire", "status": "active", "expires_at": "9999-12-31"}]}
        ),
        id="permit-valid-through-9999-12-31",
    ),
    pytest.param(
        _scenario(
            renter={
                "documents": [
                    {"kind": "food_handler_card", "status": "approved", "expires_at": "9999-12-31"}
                ]
            }
        ),
        id="document-valid-through-9999-12-31",
    ),
]


def _verdict_or_one_line_error(result: CliResult) -> None:
    assert "Traceback" not in result.err
    if result.code == 0:
        assert set(json.loads(result.out)) == VERDICT_KEYS
    else:
        assert_one_line_error(result, "evaluate", 2)


@pytest.mark.parametrize("scenario", EDGE_OF_CALENDAR)
def test_dates_at_the_edge_of_the_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: dict[str, Any]
) -> None:
    _verdict_or_one_line_error(_evaluate(capsys, _write(tmp_path, scenario)))


def test_jsonl_keeps_going_after_a_line_at_the_edge_of_the_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    good = json.dumps(golden)
    edge = json.dumps(
        _scenario(booking={"start": "0001-01-01T00:00:00", "end": "0001-01-01T02:00:00"})
    )
    result = _evaluate(
        capsys, _write(tmp_path, f"{good}\n{edge}\n{good}\n", "edge.jsonl"), "--jsonl"
    )
    assert "Traceback" not in result.err
    assert result.code in (0, 2)
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert len(lines) == 3
    assert lines[0]["result"] == lines[2]["result"] == "DENY"
    assert set(lines[1]) in (VERDICT_KEYS, {"error"})


def test_as_of_option_applies_only_to_scenarios_without_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    own = {**golden, "as_of": AS_OF}
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(own) + "\n" + json.dumps(golden) + "\n")
    result = run_cli(capsys, "evaluate", "--jsonl", str(path), "--as-of", "2025-11-10T00:00:00Z")
    stamps = [json.loads(line)["evaluated_at"] for line in result.out.splitlines()]
    assert result.code == 0
    assert stamps == ["2025-11-05T09:00:00+00:00", "2025-11-10T00:00:00+00:00"]


def test_brief_prints_the_result_and_rule_ids_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(golden))
    result = run_cli(capsys, "evaluate", "--brief", "--as-of", AS_OF, str(path))
    assert result.code == 0
    assert result.out.startswith("DENY       PERMIT_FIRE (critical), PERMIT_VENTILATION (critical)")
    assert result.out.rstrip().endswith("GREASE_MAINTENANCE (medium)")
    assert len(result.out.splitlines()) == 1
