"""``prep-refdb build --sources DIR``: a bad source cell stops the build, ``file:line: problem``.

Each test copies the packaged sources, corrupts one cell, and checks the exit code (2), the one
error line (``prep-refdb build: <file>.csv:<line>: ...``, the line being the corrupted row of
the file as written) and that no bundle is left behind. The build's progress bar also writes
to stderr; its lines (``build [###...] n/N table``) are not part of the error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reference_db.bundle_fixtures import (
    CliResult,
    build,
    build_error_line,
    bundle_files,
    copy_sources,
    find_row,
    format_line,
    make_key,
    parse_line,
    read_lines,
    run_cli,
    set_cell,
)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("keys") / "refdb.key")[0]


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    return copy_sources(tmp_path / "sources")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "build" / "prep-reference.sqlite"


def _build(capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path) -> CliResult:
    return run_cli(capsys, "build", "--sources", str(sources), "--out", str(out), "--key", str(key))


def _assert_source_error(result: CliResult, filename: str, line: int, *words: str) -> str:
    error = build_error_line(result)
    prefix = f"prep-refdb build: {filename}:{line}: "
    assert error.startswith(prefix), f"want {prefix!r}..., got {error!r}"
    problem = error[len(prefix) :]
    for word in words:
        assert word.lower() in problem.lower(), f"{word!r} not named in {problem!r}"
    return problem


def _assert_nothing_left(out: Path) -> None:
    for path in bundle_files(out):
        assert not path.exists(), f"{path} left behind by a failed build"
    leftovers = list(out.parent.glob("*")) if out.parent.exists() else []
    assert leftovers == [], leftovers


def test_the_unmodified_copy_builds(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    result = _build(capsys, sources, out, key)
    assert result.code == 0, result.err
    assert all(path.is_file() for path in bundle_files(out))


def test_missing_required_field(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    line = set_cell(sources / "jurisdictions.csv", "oakland", "timezone", "")
    assert line > 2  # a row in the middle, not the first one
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "jurisdictions.csv", line, "missing", "timezone")
    _assert_nothing_left(out)


def test_bad_date(capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path) -> None:
    line = set_cell(sources / "jurisdictions.csv", "portland", "retrieved", "2025-13-01")
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "jurisdictions.csv", line, "2025-13-01")
    _assert_nothing_left(out)


def test_bad_date_in_a_date_column(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    path = sources / "scope_links.csv"
    first_id = parse_line(read_lines(path)[-1])[0]
    line = set_cell(path, first_id, "valid_until", "2025-02-30")
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "scope_links.csv", line, "2025-02-30")
    _assert_nothing_left(out)


def test_negative_amount(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    line = set_cell(sources / "deposits.csv", "san_francisco", "min_cents", "-5")
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "deposits.csv", line, "negative", "-5")
    _assert_nothing_left(out)


def test_unknown_jurisdiction(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    # The file's last row becomes the first in key order: the line must still be the file's.
    path = sources / "deposits.csv"
    last = parse_line(read_lines(path)[-1])[0]
    line = set_cell(path, last, "jurisdiction_id", "atlantis")
    assert line == len(read_lines(path)) and line > 2
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "deposits.csv", line, "unknown jurisdiction", "atlantis")
    _assert_nothing_left(out)


def test_duplicate_id(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    path = sources / "jurisdictions.csv"
    lines = read_lines(path)
    original = find_row(lines, "portland")
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.append(format_line(parse_line(lines[original])))
    path.write_text("".join(lines), encoding="utf-8")
    duplicate_line = len(lines)
    result = _build(capsys, sources, out, key)
    problem = _assert_source_error(
        result, "jurisdictions.csv", duplicate_line, "duplicate", "portland"
    )
    assert f"line {original + 1}" in problem  # points back at the first occurrence
    _assert_nothing_left(out)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda cells: [("tz" if c == "timezone" else c) for c in cells], id="renamed"),
        pytest.param(lambda cells: cells[:-1], id="missing-column"),
        pytest.param(lambda cells: [*cells, "extra"], id="extra-column"),
        pytest.param(lambda cells: [cells[1], cells[0], *cells[2:]], id="reordered"),
    ],
)
def test_bad_header(
    capsys: pytest.CaptureFixture[str],
    sources: Path,
    out: Path,
    key: Path,
    edit: Callable[[list[str]], list[str]],
) -> None:
    path = sources / "jurisdictions.csv"
    lines = read_lines(path)
    lines[0] = format_line(edit(parse_line(lines[0])))
    path.write_text("".join(lines), encoding="utf-8")
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "jurisdictions.csv", 1, "header")
    _assert_nothing_left(out)


def test_a_wrong_number_of_fields(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    path = sources / "deposits.csv"
    lines = read_lines(path)
    index = find_row(lines, "san_francisco")
    lines[index] = format_line(parse_line(lines[index])[:-1])
    path.write_text("".join(lines), encoding="utf-8")
    result = _build(capsys, sources, out, key)
    _assert_source_error(result, "deposits.csv", index + 1)
    _assert_nothing_left(out)


def test_a_failed_build_leaves_a_previous_bundle_untouched(
    capsys: pytest.CaptureFixture[str], sources: Path, out: Path, key: Path
) -> None:
    build(out, key)
    before = [path.read_bytes() for path in bundle_files(out)]
    set_cell(sources / "deposits.csv", "san_francisco", "min_cents", "-5")
    build_error_line(_build(capsys, sources, out, key))
    assert [path.read_bytes() for path in bundle_files(out)] == before
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(p.name for p in bundle_files(out))
