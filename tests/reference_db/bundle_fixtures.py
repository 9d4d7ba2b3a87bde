"""Helpers shared by the bundle, source-validation and CLI tests of ``prep-refdb``.

Plain functions (no pytest fixtures) so that test modules import them explicitly and never
depend on a ``conftest.py`` that another suite owns.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_db.builder import DEFAULT_SOURCES, build_bundle
from reference_db.cli import main
from reference_db.manifest import manifest_path, signature_path
from reference_db.signing import generate_keypair, public_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared"
GOLDEN_SF = SHARED / "seed-data" / "golden" / "san_francisco_violations.json"
RELEASE = json.loads((DEFAULT_SOURCES / "release.json").read_text(encoding="utf-8"))

# An instant inside the packaged release's validity window (2025-10-01 .. 2027-12-31).
INSIDE_VALIDITY = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class CliResult:
    code: int | str | None
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    """Run ``prep-refdb`` in-process; argparse exits become the exit code."""
    capsys.readouterr()  # drop anything printed before
    try:
        code: int | str | None = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def assert_one_line_error(result: CliResult, command: str, code: int = 2) -> str:
    """Exit ``code`` with exactly one ``prep-refdb COMMAND: ...`` line on stderr, no traceback."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = result.err_lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"prep-refdb {command}: "), lines[0]
    return lines[0]


# ``prep-refdb build`` draws its progress bar on stderr too, one line per step when not a terminal.
PROGRESS_LINE = re.compile(r"build \[[#.]+\] \d+/\d+ ")


def build_error_line(result: CliResult, code: int = 2) -> str:
    """The one error line of a failed ``build`` (progress lines aside); no traceback."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err
    errors = [line for line in result.err_lines if not PROGRESS_LINE.match(line)]
    assert len(errors) == 1, result.err
    assert errors[0].startswith("prep-refdb build: "), errors[0]
    return errors[0]


def make_key(path: Path) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair: (private key, public key)."""
    generate_keypair(path)
    return path, public_path(path)


def bundle_files(bundle: Path) -> tuple[Path, Path, Path]:
    return bundle, manifest_path(bundle), signature_path(bundle)


def build(
    out: Path, key: Path, environ: dict[str, str] | None = None, sources: Path = DEFAULT_SOURCES
) -> Path:
    """Build a signed bundle from ``sources`` at ``out`` (no SOURCE_DATE_EPOCH unless given)."""
    build_bundle(sources, out, key, dict(environ or {}))
    return out


def copy_bundle(bundle: Path, directory: Path) -> Path:
    """Copy the bundle and the files beside it into ``directory``; return the copy's path."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in bundle_files(bundle):
        shutil.copy2(path, directory / path.name)
    return directory / bundle.name


def copy_sources(directory: Path) -> Path:
    shutil.copytree(DEFAULT_SOURCES, directory)
    return directory


# --- editing CSV sources line by line, so that line numbers stay known ------------------------


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def parse_line(line: str) -> list[str]:
    return next(csv.reader([line]))


def format_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def find_row(lines: list[str], first_cell: str) -> int:
    """Index in ``lines`` of the data row whose first cell is ``first_cell``."""
    for index, line in enumerate(lines[1:], start=1):
        if parse_line(line)[0] == first_cell:
            return index
    raise AssertionError(f"no row starting with {first_cell!r}")


def set_cell(path: Path, first_cell: str, column: str, value: str) -> int:
    """Set one cell of the row starting with ``first_cell``; return that row's 1-based line."""
    lines = read_lines(path)
    header = parse_line(lines[0])
    index = find_row(lines, first_cell)
    cells = parse_line(lines[index])
    cells[header.index(column)] = value
    lines[index] = format_line(cells)
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1
