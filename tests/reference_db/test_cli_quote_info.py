"""``prep-refdb quote`` and ``info``, and ``--help`` on every subcommand."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.reference_db.bundle_fixtures import (
    RELEASE,
    CliResult,
    assert_one_line_error,
    build,
    make_key,
    run_cli,
)

PORTLAND = {
    "jurisdiction": "portland",
    "base_cents": 19500,
    "cleaning_fee_cents": 2500,
    "platform_fee_cents": 2200,
}
JURISDICTIONS = [
    "san_francisco",
    "portland",
    "seattle",
    "oakland",
    "berkeley",
    "san_jose",
    "palo_alto",
    "san_bernardino_county",
    "new_york",
    "chicago",
    "atlanta",
    "los_angeles",
    "boston",
]
SUBCOMMANDS = ["keygen", "build", "verify", "evaluate", "quote", "info"]


def _write(tmp_path: Path, data: Any, name: str = "quote.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _json(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bundle")
    key, _ = make_key(directory / "refdb.key")
    return build(directory / "prep-reference.sqlite", key)


@pytest.fixture(autouse=True)
def _packaged_sources_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --db the commands read PREP_REFDB_DB, else the packaged sources: use the latter."""
    monkeypatch.delenv("PREP_REFDB_DB", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


# --- quote ------------------------------------------------------------------------------------


def _assert_portland_quote(quote: dict[str, Any]) -> None:
    assert len(quote["line_items"]) == 1
    line = quote["line_items"][0]
    assert (line["code"], line["base_cents"], line["amount_cents"]) == ("Lodging", 24200, 2783)
    assert quote["deposit_cents"] == 10000
    assert quote["subtotal_cents"] == 24200
    assert quote["total_fees_cents"] == 2783
    assert quote["total_cents"] == 26983


def test_quote_of_the_contract_portland_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_portland_quote(_json(run_cli(capsys, "quote", str(_write(tmp_path, PORTLAND)))))


def test_quote_by_hours_and_hourly_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = {**PORTLAND, "hours": 3, "hourly_rate_cents": 6500}
    del request["base_cents"]
    quote = _json(run_cli(capsys, "quote", str(_write(tmp_path, request))))
    assert quote["base_cents"] == 19500
    _assert_portland_quote(quote)


def test_quote_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(PORTLAND)))
    _assert_portland_quote(_json(run_cli(capsys, "quote", "-")))


def test_quote_from_a_built_bundle(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "quote", "--db", str(bundle), str(_write(tmp_path, PORTLAND)))
    _assert_portland_quote(_json(result))


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({**PORTLAND, "hours": 3, "hourly_rate_cents": 6500}, id="base-and-hours"),
        pytest.param({"jurisdiction": "portland", "hours": 3}, id="hours-without-rate"),
        pytest.param({**PORTLAND, "base_cents": -1}, id="negative-base"),
        pytest.param({**PORTLAND, "cleaning_fee_cents": -100}, id="negative-cleaning"),
        pytest.param({**PORTLAND, "jurisdiction": "atlantis"}, id="unknown-jurisdiction"),
        pytest.param({"base_cents": 100}, id="no-jurisdiction"),
    ],
)
def test_bad_quote_requests_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request_: dict[str, Any]
) -> None:
    result = run_cli(capsys, "quote", str(_write(tmp_path, request_)))
    assert_one_line_error(result, "quote")
    assert result.out == ""


def test_quote_of_malformed_json_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    assert_one_line_error(run_cli(capsys, "quote", str(path)), "quote")


def test_quote_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(run_cli(capsys, "quote", str(tmp_path / "absent.json")), "quote")


def test_quote_of_a_huge_amount_is_a_quote_or_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Amounts have no upper bound in the contract: answer exactly, or refuse in one line."""
    request = {"jurisdiction": "portland", "base_cents": 10**40}
    result = run_cli(capsys, "quote", str(_write(tmp_path, request)))
    assert "Traceback" not in result.err
    if result.code == 0:
        quote = json.loads(result.out)
        assert quote["subtotal_cents"] == 10**40
        assert quote["total_cents"] == quote["subtotal_cents"] + quote["total_fees_cents"]
    else:
        assert_one_line_error(result, "quote", 2)


# --- info -------------------------------------------------------------------------------------


def test_info_names_the_bundle_and_every_jurisdiction(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "info")
    assert result.code == 0, result.err
    assert RELEASE["bundle_id"] in result.out
    listed = set(re.findall(r"^\s+([a-z0-9_]+)\s", result.out, re.MULTILINE))
    missing = [j for j in JURISDICTIONS if j not in listed]
    assert missing == [], result.out


def test_info_json_lists_every_jurisdiction(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _json(run_cli(capsys, "info", "--json"))
    assert summary["bundle"]["bundle_id"] == RELEASE["bundle_id"]
    assert str(summary["bundle"]["version"]) == str(RELEASE["version"])
    ids = {j["id"] for j in summary["jurisdictions"]}
    assert set(JURISDICTIONS) <= ids


def test_info_json_fee_schedule_of_an_alias(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _json(run_cli(capsys, "info", "--json", "--jurisdiction", "sf"))
    one = summary["jurisdiction"]
    assert one["id"] == "san_francisco"
    fees = one["fee_schedule"]
    assert fees["one_time_cents"] == 45000
    assert fees["recurring_annualized_cents"] == 98000
    assert fees["incremental_fee_count"] == 1


def test_info_text_with_a_jurisdiction(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "info", "--jurisdiction", "San Francisco")
    assert result.code == 0, result.err
    assert "san_francisco" in result.out


def test_info_of_an_unknown_jurisdiction_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(run_cli(capsys, "info", "--jurisdiction", "atlantis"), "info")


def test_info_on_a_built_bundle_matches_the_packaged_sources(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = run_cli(capsys, "info", "--db", str(bundle))
    assert text.code == 0, text.err
    assert RELEASE["bundle_id"] in text.out
    from_bundle = _json(run_cli(capsys, "info", "--json", "--db", str(bundle)))
    from_sources = _json(run_cli(capsys, "info", "--json"))
    assert from_bundle == from_sources


def test_info_on_a_missing_bundle_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "info", "--db", str(tmp_path / "absent.sqlite"))
    assert result.code == 2
    assert_one_line_error(result, "info")


def test_info_on_a_file_that_is_not_a_bundle_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "not-a-bundle.sqlite"
    path.write_bytes(b"hello, not sqlite" * 100)
    result = run_cli(capsys, "info", "--db", str(path))
    assert result.code in (1, 2)
    assert_one_line_error(result, "info", result.code)


def test_info_on_a_sqlite_file_without_the_bundle_tables_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite file with a ``meta`` table but none of the rule tables is not a bundle."""
    path = tmp_path / "meta-only.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.commit()
    result = run_cli(capsys, "info", "--db", str(path))
    assert result.code in (1, 2)
    assert_one_line_error(result, "info", result.code)


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["--help"], *([c, "--help"] for c in SUBCOMMANDS)], ids=lambda a: " ".join(a)
)
def test_help_exits_0(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    result = run_cli(capsys, *argv)
    assert result.code == 0
    assert "usage:" in result.out
