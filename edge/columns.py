"""Column types for SQLite: aware UTC instants stored as sortable ISO text, JSON as text."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

_DIALECT = sqlite_dialect()
T = TypeVar("T", bound=SQLModel)

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant, kept in UTC; naive values are refused rather than guessed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC).strftime(_FORMAT)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value)


def utc_text(value: datetime) -> str:
    """The stored form of an instant, for raw SQL comparisons."""
    return value.astimezone(UTC).strftime(_FORMAT)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the stored form, and the form audit hashes cover."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class JsonText(TypeDecorator[Any]):
    """JSON kept as compact text with sorted keys (stable bytes for hashing and diffing)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def insert_row(raw: sqlite3.Connection, row: SQLModel) -> None:
    """INSERT one table row with a plain statement, stored exactly as the ORM would store it.

    For hot write paths: the ORM's unit of work costs more than the insert itself. Column
    types of this module (instants, JSON) are converted through them.
    """
    table = row.__table__  # type: ignore[attr-defined]
    names, values = [], []
    for column in table.columns:
        value = getattr(row, column.name)
        if isinstance(column.type, UtcDateTime | JsonText):
            value = column.type.process_bind_param(value, _DIALECT)
        names.append(column.name)
        values.append(value)
    marks = ", ".join("?" for _ in names)
    raw.execute(f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})', values)  # noqa: S608


def load_row(raw: sqlite3.Connection, model: type[T], key: str) -> T | None:
    """The row of ``model``'s table with one-column primary key ``key``, or None."""
    table = model.__table__  # type: ignore[attr-defined]
    (pk,) = table.primary_key.columns
    cursor = raw.execute(f'SELECT * FROM "{table.name}" WHERE {pk.name} = ?', (key,))  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        return None
    values = {}
    for (name, *_), value in zip(cursor.description, row, strict=True):
        kind = table.columns[name].type
        values[name] = (
            kind.process_result_value(value, _DIALECT)
            if isinstance(kind, UtcDateTime | JsonText)
            else value
        )
    return model.model_validate(values)


def update_row(raw: sqlite3.Connection, row: SQLModel, names: tuple[str, ...]) -> None:
    """UPDATE the named columns of one row, found by its one-column primary key."""
    table = row.__table__  # type: ignore[attr-defined]
    (pk,) = table.primary_key.columns
    values = []
    for name in names:
        value, kind = getattr(row, name), table.columns[name].type
        values.append(
            kind.process_bind_param(value, _DIALECT)
            if isinstance(kind, UtcDateTime | JsonText)
            else value
        )
    sets = ", ".join(f"{name} = ?" for name in names)
    raw.execute(
        f'UPDATE "{table.name}" SET {sets} WHERE {pk.name} = ?',  # noqa: S608
        (*values, getattr(row, pk.name)),
    )
