"""Reads and validates the reference source files, stopping at the first bad row.

Every problem is reported as ``file:line: what is wrong`` (a ``SourceError``): a missing
field, a bad date, a negative amount, an unknown jurisdiction, a duplicate id, a header that
does not match the declared columns of ``source_schema``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reference_db.errors import SourceError
from reference_db.source_schema import (
    PROVENANCE_COLUMNS,
    TABLES,
    TRUST_LEVELS,
    Column,
    SourceTable,
)

Cell = str | int | None
Row = tuple[Cell, ...]

_ID = re.compile(r"[a-z0-9_]+")
_CODE = re.compile(r"[A-Za-z0-9_&*.-]+")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


@dataclass(frozen=True)
class LoadedTable:
    """The validated rows of one source file, in key order."""

    table: SourceTable
    rows: tuple[Row, ...]
    lines: tuple[int, ...]  # the source line of each row, for error messages


def _date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad date {text!r} (want YYYY-MM-DD)") from None
    if len(text) != len("2025-01-01"):
        raise ValueError(f"bad date {text!r} (want YYYY-MM-DD)")
    return text


def _int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise ValueError(f"negative amount: {value}")
    return value


def _rate(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal rate: {text!r}") from None
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"rate {text} is outside 0..1")
    return text


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not regex.fullmatch(text):
            raise ValueError(f"bad {what}: {text!r}")
        return text

    return check


def _bool(text: str) -> int:
    if text not in ("true", "false"):
        raise ValueError(f"want true or false, got {text!r}")
    return 1 if text == "true" else 0


def _list(text: str) -> str:
    items = [item.strip() for item in text.split(";")]
    if any(not item for item in items):
        raise ValueError(f"empty item in list {text!r}")
    return ";".join(items)


def _tz(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r}") from None
    return text


_PARSERS: dict[str, Callable[[str], Cell]] = {
    "text": lambda text: text,
    "id": _pattern(_ID, "identifier"),
    "code": _pattern(_CODE, "code"),
    "int": _int,
    "bool": _bool,
    "date": _date,
    "rate": _rate,
    "time": _pattern(_TIME, "time (want HH:MM)"),
    "month_day": _pattern(_MONTH_DAY, "month-day (want MM-DD)"),
    "list": _list,
    "tz": _tz,
}


def parse_cell(column: Column, text: str) -> Cell:
    """Turn one CSV cell into its stored value, or raise ValueError saying why not."""
    text = text.strip()
    if not text:
        if column.optional:
            return None
        raise ValueError(f"missing {column.name}")
    if column.kind.startswith("enum:"):
        allowed = column.kind[len("enum:") :].split("|")
        if text not in allowed:
            raise ValueError(f"{column.name} must be one of {', '.join(allowed)}, got {text!r}")
        return text
    try:
        return _PARSERS[column.kind](text)
    except ValueError as exc:
        raise ValueError(f"{column.name}: {exc}") from None


def _provenance(record: dict[str, str]) -> Row:
    source = record["source"].strip()
    if not source:
        raise ValueError("missing source")
    retrieved = record["retrieved"].strip()
    if not retrieved:
        raise ValueError("missing retrieved")
    _date(retrieved)
    trust = record["trust"].strip()
    if trust not in TRUST_LEVELS:
        raise ValueError(f"trust must be one of {', '.join(TRUST_LEVELS)}, got {trust!r}")
    return (source, retrieved, trust)


def _records(path: Path, table: SourceTable) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header != table.all_columns:
            raise SourceError(
                path.name,
                1,
                f"header must be {','.join(table.all_columns)}; got {','.join(header)}",
            )
        line = 1
        for record in reader:
            if None in record or any(value is None for value in record.values()):
                raise SourceError(path.name, reader.line_num, "wrong number of fields")
            yield line + 1, record
            line = reader.line_num


def load_table(path: Path, table: SourceTable) -> LoadedTable:
    """Read one source file, checking each cell and that keys are unique."""
    numbered: list[tuple[Row, int]] = []
    seen: dict[tuple[Cell, ...], int] = {}
    key_positions = [table.all_columns.index(k) for k in table.key]
    for line, record in _records(path, table):
        try:
            cells = tuple(parse_cell(c, record[c.name]) for c in table.columns)
            row = cells + _provenance(record)
        except ValueError as exc:
            raise SourceError(path.name, line, str(exc)) from None
        key = tuple(row[i] for i in key_positions)
        if key in seen:
            shown = ", ".join(str(k) for k in key)
            raise SourceError(
                path.name,
                line,
                f"duplicate {'/'.join(table.key)} {shown} (first on line {seen[key]})",
            )
        seen[key] = line
        numbered.append((row, line))
    order = [table.all_columns.index(k) for k in (table.order_by or table.key)]
    numbered.sort(key=lambda item: tuple(_sortable(item[0][i]) for i in order))
    return LoadedTable(table, tuple(r for r, _ in numbered), tuple(n for _, n in numbered))


def _sortable(value: Cell) -> tuple[int, str | int]:
    if value is None:
        return (0, "")
    return (1, value) if isinstance(value, int) else (2, value)


def check_references(tables: dict[str, LoadedTable]) -> None:
    """Every ``references`` column must name an existing row of its target table."""
    for loaded in tables.values():
        for position, column in enumerate(loaded.table.columns):
            if column.references is None:
                continue
            target_name, target_column = column.references.split(".")
            target = tables[target_name]
            index = target.table.all_columns.index(target_column)
            known = {row[index] for row in target.rows}
            for row_number, row in enumerate(loaded.rows):
                value = row[position]
                if value is not None and value not in known:
                    what = "jurisdiction" if target_name == "jurisdictions" else target_name
                    raise SourceError(
                        loaded.table.filename,
                        loaded.lines[row_number],
                        f"unknown {what} {value!r} in {column.name}",
                    )


def load_sources(
    directory: Path, progress: Callable[[str], None] | None = None
) -> dict[str, LoadedTable]:
    """Load and cross-check every source table of ``directory``."""
    tables: dict[str, LoadedTable] = {}
    for table in TABLES:
        path = directory / table.filename
        if not path.is_file():
            raise SourceError(table.filename, 0, "source file is missing")
        tables[table.name] = load_table(path, table)
        if progress is not None:
            progress(table.name)
    check_references(tables)
    return tables


__all__ = ["PROVENANCE_COLUMNS", "LoadedTable", "load_sources", "load_table"]
