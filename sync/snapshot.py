"""The snapshot wire format: the current state of a node's buckets, a page at a time.

A new edge, or one offline past the hub's feed horizon, bootstraps from a snapshot instead of
replaying the feed. A page is one JSON document, deflated with zlib::

    {"v": 1, "k": "snapshot", "as_of": 812, "next": "<cursor>" | null, "t": <hub ms>,
     "tables": [{"name": "booking", "n": 20000, "cols": {"id": [...], "status": [...], ...}}]}

``as_of`` is the site's feed position the snapshot is complete up to (the edge pulls from there
once the last page is in); ``next`` is the opaque cursor of the following page (``null`` on the
last one). Tables travel column by column, each column in one of two forms:

- ``["v", v1, v2, ...]``: the values as they are;
- ``["d", [distinct values], [index per row]]``: a dictionary, for columns with repeats
  (status, resource, renter, quote), so a repeated value is parsed once.

Reading builds no object per row: each known table has a fixed schema (``TABLES``: column ->
kind) and every column is checked a column at a time (types by ``set(map(type, ...))``, text
forms by a compiled pattern, a dictionary column only through its distinct values). Instants
travel in one fixed-width UTC form, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, so text order is time
order; JSON objects travel as canonical text (sorted keys, no spaces) and are re-canonicalised
when read. Columns beyond the schema are ignored and unknown tables skipped and counted (a newer
hub may send more). Anything malformed raises ``WireError`` (``BatchTooLarge`` for the size
limit), never anything else; decompression stops one byte past ``max_raw_bytes``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from sync.sync_errors import BatchTooLarge, WireError

SNAPSHOT_VERSION = 1
SNAPSHOT_CONTENT_TYPE = "application/vnd.prep.snapshot+zlib"
MAX_ID_LENGTH = 128

# Column kinds; a trailing "?" allows null.
ID, TEXT, INT, BOOL, INSTANT, STAMP, JSON = "id", "text", "int", "bool", "instant", "stamp", "json"

TABLES: dict[str, dict[str, str]] = {  # in the order an edge applies them
    "resource": {
        "id": ID, "name": TEXT, "kind": TEXT, "hourly_rate_cents": INT, "active": BOOL,
        "updated_hlc": STAMP,
    },
    "renter": {
        "id": ID, "name": TEXT, "email": "text?", "phone": "text?", "profile": JSON,
        "updated_hlc": STAMP,
    },
    "booking": {
        "id": ID, "site_id": ID, "resource_id": ID, "renter_id": ID, "starts_at": INSTANT,
        "ends_at": INSTANT, "status": TEXT, "hold_expires_at": "instant?", "price_cents": INT,
        "quote": JSON, "paid": BOOL, "confirmed_hlc": "stamp?", "origin_node": TEXT,
        "created_by": TEXT, "created_at": INSTANT, "updated_at": INSTANT, "updated_hlc": STAMP,
    },
    "conflict": {
        "id": ID, "keeper_id": ID, "loser_id": ID, "rule": TEXT, "status": TEXT,
        "resolution": "text?", "created_at": INSTANT, "resolved_at": "instant?",
        "resolved_by": "text?", "updated_hlc": STAMP,
    },
    "document": {
        "id": ID, "owner_kind": TEXT, "owner_id": ID, "kind": TEXT, "number": "text?",
        "issuer": "text?", "issued_at": "instant?", "expires_at": "instant?", "sha256": TEXT,
        "size_bytes": INT, "content_type": TEXT, "filename": TEXT, "review_status": TEXT,
        "uploaded_by": TEXT, "created_at": INSTANT, "updated_hlc": STAMP,
    },
}  # fmt: skip

_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_STAMP = re.compile(r"[0-9]{13}-[0-9]{5}-.{1,64}", re.DOTALL)
_INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_NONE = type(None)
_SAMPLE = 64  # values looked at before a column is counted for a dictionary
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()


@dataclass(frozen=True)
class SnapshotTable:
    """One table of a page: ``rows`` rows held as one list per column (schema order)."""

    name: str
    rows: int
    columns: Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class SnapshotPage:
    as_of: int
    next_cursor: str | None
    hub_time_ms: int
    tables: dict[str, SnapshotTable]  # known tables only, by name
    skipped: dict[str, int] = field(default_factory=dict)  # unknown tables: rows left aside


def instant_text(moment: datetime) -> str:
    """The wire (and edge storage) form of an aware instant: fixed-width UTC text."""
    if moment.tzinfo is None:
        raise WireError("an instant must be timezone-aware")
    return moment.astimezone(UTC).strftime(_INSTANT_FORMAT)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys, the form JSON columns travel and are stored in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- writing ---------------------------------------------------------------------------------


def encode_snapshot(page: SnapshotPage, level: int = 1) -> bytes:
    """The body of a snapshot page (``SNAPSHOT_CONTENT_TYPE``).

    Level 1 by default: a page is large and mostly unique ids and instants, where deflate's
    higher levels cost several times the CPU for a few percent.
    """
    tables = [
        {"name": t.name, "n": t.rows, "cols": {k: _column(v) for k, v in t.columns.items()}}
        for t in page.tables.values()
    ]
    doc = {
        "v": SNAPSHOT_VERSION,
        "k": "snapshot",
        "as_of": page.as_of,
        "next": page.next_cursor,
        "t": page.hub_time_ms,
        "tables": tables,
    }
    try:
        text = _ENCODER.encode(doc)
    except (TypeError, msgspec.EncodeError) as exc:
        raise WireError(f"a snapshot value is not plain JSON: {exc}") from exc
    return zlib.compress(text, level)


def _column(values: Sequence[Any]) -> list[Any]:
    """A dictionary for a column with repeats, the values as they are otherwise (a column
    whose first values are all different is taken as unique without counting the rest)."""
    if len(set(values[:_SAMPLE])) > _SAMPLE // 2:
        return ["v", *values]
    distinct = dict.fromkeys(values)
    if len(distinct) * 2 > len(values):
        return ["v", *values]
    index = {value: position for position, value in enumerate(distinct)}
    return ["d", list(distinct), [index[value] for value in values]]


# --- reading ---------------------------------------------------------------------------------


def decode_snapshot(data: bytes, *, max_raw_bytes: int) -> SnapshotPage:
    """A snapshot page read within the size limit; ``WireError`` if anything is malformed."""
    doc, raw_bytes = _open(data, max_raw_bytes)
    _check(doc.get("v") == SNAPSHOT_VERSION, f"unsupported snapshot version {doc.get('v')!r}")
    _check(doc.get("k") == "snapshot", "not a snapshot document")
    as_of, hub_time, cursor = doc.get("as_of"), doc.get("t"), doc.get("next")
    sections = doc.get("tables")
    if type(as_of) is not int or as_of < 0:
        raise WireError("as_of is missing or not a count")
    if type(hub_time) is not int:
        raise WireError("t is missing or not an integer")
    if cursor is not None and (type(cursor) is not str or not 0 < len(cursor) <= 1024):
        raise WireError("next is not a cursor")
    if type(sections) is not list:
        raise WireError("tables is missing or not a list")
    tables: dict[str, SnapshotTable] = {}
    skipped: dict[str, int] = {}
    for section in sections:
        _check(type(section) is dict, "a table is not an object")
        name, rows, cols = section.get("name"), section.get("n"), section.get("cols")
        _check(type(name) is str and type(rows) is int and type(cols) is dict, "bad table")
        _check(0 <= rows <= raw_bytes, "row count does not fit the body")
        _check(name not in tables and name not in skipped, f"table {name!r} sent twice")
        schema = TABLES.get(name)
        if schema is None:
            skipped[name] = rows
            continue
        columns = {column: _read(name, column, kind, cols.get(column), rows) for column, kind
                   in schema.items()}  # fmt: skip
        tables[name] = SnapshotTable(name, rows, columns)
    return SnapshotPage(as_of, cursor, hub_time, tables, skipped)


def _open(data: bytes, max_raw_bytes: int) -> tuple[dict[str, Any], int]:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, max_raw_bytes + 1)
    except zlib.error as exc:
        raise WireError("snapshot is not a zlib stream") from exc
    if len(raw) > max_raw_bytes:
        hint = "ask for fewer rows per snapshot page"
        raise BatchTooLarge("snapshot page inflates past the size limit", limit=max_raw_bytes,
                            hint=hint)  # fmt: skip
    _check(inflater.eof, "snapshot zlib stream is truncated")
    _check(not inflater.unused_data, "bytes follow the snapshot zlib stream")
    try:
        doc = _DECODER.decode(raw)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError) as exc:
        raise WireError(f"snapshot is not UTF-8 JSON: {exc}") from None
    _check(type(doc) is dict, "snapshot is not a JSON object")
    return doc, len(raw)


def _refuse_constant(name: str) -> Any:
    raise WireError(f"{name} is not JSON")


def _read(table: str, name: str, kind: str, col: Any, rows: int) -> list[Any]:
    where = f"{table}.{name}"
    _check(type(col) is list and bool(col), f"{where}: column missing")
    if col[0] == "v":
        values = col[1:]
        _check(len(values) == rows, f"{where}: {len(values)} values for {rows} rows")
        return _checked(values, kind, where)
    _check(col[0] == "d" and len(col) == 3, f"{where}: unknown column form")
    distinct, index = col[1], col[2]
    _check(type(distinct) is list and type(index) is list, f"{where}: bad dictionary")
    _check(len(index) == rows, f"{where}: {len(index)} values for {rows} rows")
    distinct = _checked(distinct, kind, where)
    if not index:
        return []
    _check(set(map(type, index)) == {int}, f"{where}: dictionary index is not an integer")
    _check(min(index) >= 0 and max(index) < len(distinct), f"{where}: index out of range")
    return list(map(distinct.__getitem__, index))


def _checked(values: list[Any], kind: str, where: str) -> list[Any]:
    """``values`` if every one is of ``kind`` (JSON re-canonicalised); WireError otherwise."""
    base = kind.rstrip("?")
    types = set(map(type, values))
    present = values
    if _NONE in types:
        _check(kind.endswith("?"), f"{where}: null in a required column")
        types.discard(_NONE)
        present = [v for v in values if v is not None]
    if not present:
        return values
    expected = {INT: int, BOOL: bool}.get(base, str)
    _check(types == {expected}, f"{where}: expected {base} values")
    _VALIDATORS.get(base, _accept)(present, where)
    if base == JSON:
        return _canonical_json(values, where)
    return values


def _accept(values: list[Any], where: str) -> None:
    return None


def _ids(values: list[Any], where: str) -> None:
    _check(min(map(len, values)) >= 1, f"{where}: empty id")
    _check(max(map(len, values)) <= MAX_ID_LENGTH, f"{where}: id longer than {MAX_ID_LENGTH}")


def _ints(values: list[Any], where: str) -> None:
    _check(min(values) >= -(2**63) and max(values) < 2**63, f"{where}: integer out of range")


def _instants(values: list[Any], where: str) -> None:
    _check(all(map(_INSTANT.fullmatch, values)), f"{where}: not a UTC instant")
    try:
        all(map(datetime.fromisoformat, values))  # a real calendar date and time
    except ValueError:
        raise WireError(f"{where}: not a calendar instant") from None


def _stamps(values: list[Any], where: str) -> None:
    _check(all(map(_STAMP.fullmatch, values)), f"{where}: not an HLC stamp")


def _canonical_json(values: list[Any], where: str) -> list[Any]:
    seen: dict[str, str] = {}
    for text in set(values):
        if text is None:
            continue
        try:
            parsed = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise WireError(f"{where}: not JSON text") from None
        _check(type(parsed) is dict, f"{where}: not a JSON object")
        seen[text] = canonical_json(parsed)
    if all(key == value for key, value in seen.items()):
        return values
    return [seen.get(v) if v is not None else None for v in values]


_VALIDATORS: dict[str, Callable[[list[Any], str], None]] = {
    ID: _ids,
    INT: _ints,
    INSTANT: _instants,
    STAMP: _stamps,
}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise WireError(message)
