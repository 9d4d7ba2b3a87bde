"""Columns of the sync wire format: how a list of values is written and read back.

A document keeps one string table (``"strings"``): every distinct string (and ``null``) appears
there once, in order of first use, and string columns hold table positions as steps from the
previous position. A booking id seen as ``entity_id`` and again as ``payload.id``, or an audit
hash seen again as the next event's ``prev_hash``, costs a byte or two instead of 36 or 64.
The forms:

- ``["s", steps]`` strings (or nulls) through the table;
- ``["h", wall steps, counters, node steps]`` hybrid logical clock stamps (``sync.hlc`` text
  form), split so that the wall clock travels as a small step and the node id through the table;
- ``["i", steps]`` integers as steps from the previous one (contiguous sequences become runs of 1);
- ``["j", values]`` anything else, as plain JSON.

Both directions work a column at a time with C-level builtins (``map``, ``accumulate``,
``itemgetter``), not a Python step per value: this code runs for every change that syncs.
Reading checks every column against hostile input and raises ``WireError``, never anything else.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sync.sync_errors import WireError

_NONE = type(None)
_STRINGS = frozenset({str, _NONE})
_INTS = frozenset({int})
_STR = frozenset({str})
_STAMP_LIKE = re.compile(r"[0-9]{13}-[0-9]{5}-.")
_STAMPS = re.compile(r"(?:[0-9]{13}-[0-9]{5}-[^\n]+\n)*[0-9]{13}-[0-9]{5}-[^\n]+")
_SCALARS = frozenset({str, int, bool, _NONE})


def _refuse_nan(values: Sequence[Any]) -> None:
    """JSON has no NaN or infinity; the fast encoder would quietly write them as null."""
    try:
        json.dumps(values, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WireError(f"a payload is not plain JSON: {exc}") from exc


def steps(values: Sequence[int]) -> list[int]:
    """Each value as the step from the one before it (the first from zero)."""
    return list(map(int.__sub__, values, itertools.chain((0,), values)))


def check(condition: bool, message: str) -> None:
    if not condition:
        raise WireError(message)


class ColumnWriter:
    """Writes columns in order, keeping the document's string table."""

    def __init__(self, *, check_json: bool = True) -> None:
        self._positions: dict[str | None, int] = {}
        self._check_json = check_json  # off for payloads read back from a JSON column

    @property
    def table(self) -> list[str | None]:
        return list(self._positions)

    def column(self, values: Sequence[Any]) -> list[Any]:
        kinds = set(map(type, values))
        if kinds == _STR and _STAMP_LIKE.match(values[0]) and _STAMPS.fullmatch("\n".join(values)):
            return self._stamps(values)
        if kinds <= _STRINGS:
            return ["s", self._references(values)]
        if kinds == _INTS:
            return ["i", steps(values)]
        if self._check_json and not kinds <= _SCALARS:
            _refuse_nan(values)
        return ["j", list(values)]

    def _references(self, values: Sequence[str | None]) -> list[int]:
        table = self._positions
        fresh = [value for value in dict.fromkeys(values) if value not in table]
        table.update(zip(fresh, itertools.count(len(table))))
        return steps(list(map(table.__getitem__, values)))

    def _stamps(self, values: Sequence[str]) -> list[Any]:
        walls = [int(value[:13]) for value in values]
        counters = [int(value[14:19]) for value in values]
        nodes = self._references([value[20:] for value in values])
        return ["h", steps(walls), counters, nodes]


class ColumnReader:
    """Reads columns written by ``ColumnWriter`` against the document's string table."""

    def __init__(self, table: Any) -> None:
        check(isinstance(table, list), "string table is missing")
        check(set(map(type, table)) <= _STRINGS, "string table holds a non-string")
        self._table: list[str | None] = table

    def column(self, col: Any, n: int) -> list[Any]:
        check(isinstance(col, list) and len(col) in (2, 4), "missing column")
        if len(col) == 4:
            return self._stamps(col, n)
        tag, body = col
        check(isinstance(body, list) and len(body) == n, "column length does not match")
        if tag == "j":
            return list(body)
        check(set(map(type, body)) <= _INTS, "column holds a step that is not an integer")
        values = list(itertools.accumulate(body))
        if tag == "i":
            return values
        check(tag == "s", f"unknown column form {tag!r}")
        if not values:
            return []
        check(min(values) >= 0 and max(values) < len(self._table), "string reference out of range")
        found = itemgetter(*values)(self._table)
        return [found] if n == 1 else list(found)

    def _stamps(self, col: list[Any], n: int) -> list[Any]:
        tag, walls, counters, nodes = col
        check(tag == "h", f"unknown column form {tag!r}")
        check(isinstance(walls, list) and isinstance(counters, list), "bad stamp column")
        check(len(walls) == len(counters) == n, "stamp column length does not match")
        check(set(map(type, walls + counters)) <= _INTS, "bad stamp column")
        at = list(itertools.accumulate(walls))
        check(not at or (min(at) >= 0 and max(at) < 10**13), "bad stamp wall clock")
        check(not at or (min(counters) >= 0 and max(counters) < 10**5), "bad stamp counter")
        names = self.column(["s", nodes], n)
        check(set(map(type, names)) <= _STR and all(names), "bad stamp node")
        return list(map("{:013d}-{:05d}-{}".format, at, counters, names))

    def strings(self, col: Any, n: int, name: str, longest: int) -> list[str]:
        """A column that must hold non-empty strings no longer than ``longest``."""
        values = self.column(col, n)
        check(set(map(type, values)) <= {str}, f"{name} holds a non-string")
        check(not values or max(map(len, values)) <= longest, f"{name} is too long")
        return values

    def integers(self, col: Any, n: int, name: str) -> list[int]:
        values = self.column(col, n)
        check(set(map(type, values)) <= _INTS, f"{name} holds a non-integer")
        return values
