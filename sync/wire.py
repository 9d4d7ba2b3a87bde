"""The sync wire format: push batches and pull pages as column-oriented JSON, compressed with zlib.

A batch is sent as one JSON document whose changes are stored column by column, then deflated.
Columns put like values side by side (all stamps, all booking ids, all audit hashes), which is
what deflate's 32 KiB window needs to find repeats. Each column picks the smallest of four forms:

- ``["s", ...]`` strings through one string table per document: a string's first use is written
  out and appended to the table, a repeat is an integer, the step from the column's previous table
  index. A booking id seen as ``entity_id`` and again as ``payload.id``, or an audit hash seen
  again as the next event's ``prev_hash``, costs a byte or two instead of 36 or 64.
- ``["h", walls, counters, nodes]`` HLC stamps (``sync.hlc`` text form): wall clock as the step
  from the previous stamp, counter, and node id through the string table.
- ``["i", ...]`` integers as steps from the previous one (contiguous sequences become runs of 1).
- ``["j", ...]`` anything else, as plain JSON.

Payloads are grouped by *shape* (their ordered tuple of keys) and stored as one column per key.
A push implies ``seq`` from ``seq0`` and the position, so a gap cannot even be expressed. The
table is rebuilt by reading the columns in a fixed order, the order they are written in.

Reading is safe on hostile input: decompression stops one byte past ``max_raw_bytes`` (a zlib
bomb is never inflated), the change count is checked before any column is read, and every
malformed document raises ``WireError`` (``BatchTooLarge`` for limits), never anything else.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sync.sync_errors import BatchTooLarge, WireError

WIRE_VERSION = 1
CONTENT_TYPE = "application/vnd.prep.changes+zlib"

Op = Literal["upsert", "delete", "append"]
_STAMP = re.compile(r"([0-9]{13})-([0-9]{5})-(.+)")
_PUSH_FIELDS = ("entity_id", "entity", "op", "hlc")
_PULL_FIELDS = ("hub_seq", "origin", *_PUSH_FIELDS)


class Change(BaseModel):
    """One outbox row of an edge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    hlc: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=128)
    op: Op
    payload: dict[str, Any]


class PushBatch(BaseModel):
    """An edge's changes in ascending, contiguous ``seq``; ``generation`` names its database."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: str = Field(min_length=1, max_length=128)
    generation: str = Field(min_length=1, max_length=128)
    changes: list[Change]

    @model_validator(mode="after")
    def _contiguous(self) -> PushBatch:
        for before, after in itertools.pairwise(self.changes):
            if after.seq != before.seq + 1:
                raise WireError(f"seq {after.seq} follows {before.seq}: changes must be contiguous")
        return self


class ConflictNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    conflict_id: str
    keeper_id: str
    loser_id: str
    rule: str


class PushAck(BaseModel):
    """The hub's answer: everything up to ``high_water`` is stored; what collided."""

    model_config = ConfigDict(frozen=True)

    high_water: int = Field(ge=0)
    applied: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    conflicts: list[ConflictNotice]
    hub_time_ms: int


class FeedChange(BaseModel):
    """One hub feed row sent to an edge on pull; ``origin`` is the node that wrote it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hub_seq: int = Field(ge=1)
    hlc: str = Field(max_length=64)
    origin: str = Field(max_length=128)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=128)
    op: Op
    payload: dict[str, Any]


class PullPage(BaseModel):
    """Feed rows in ascending ``hub_seq``; the edge stores ``checkpoint`` with them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    changes: list[FeedChange]
    checkpoint: int = Field(ge=0)
    more: bool
    snapshot_required: bool = False
    hub_time_ms: int

    @model_validator(mode="after")
    def _ascending(self) -> PullPage:
        seqs = [c.hub_seq for c in self.changes]
        if any(b <= a for a, b in itertools.pairwise(seqs)):
            raise WireError("hub_seq must ascend")
        if seqs and self.checkpoint < seqs[-1]:
            raise WireError("checkpoint is behind the page's last hub_seq")
        return self


def encode_push(batch: PushBatch, level: int = 6) -> bytes:
    """The body of a push request (``CONTENT_TYPE``)."""
    seq0 = batch.changes[0].seq if batch.changes else 1
    head = {"k": "push", "node": batch.node_id, "gen": batch.generation, "seq0": seq0}
    return _deflate(head, batch.changes, _PUSH_FIELDS, level)


def decode_push(data: bytes, *, max_changes: int, max_raw_bytes: int) -> PushBatch:
    """A push body read within the limits; ``WireError`` or ``BatchTooLarge`` otherwise."""
    doc, n = _open(data, "push", max_raw_bytes, max_changes)
    rows = _read_rows(doc, n, _PUSH_FIELDS)
    seq0 = _get(doc, "seq0", int)
    changes = [{"seq": seq0 + i, **row} for i, row in enumerate(rows)]
    fields = {"node_id": _get(doc, "node", str), "generation": _get(doc, "gen", str)}
    return _validated(PushBatch, {**fields, "changes": changes})


def encode_pull(page: PullPage, level: int = 6) -> bytes:
    """The body of a pull answer (``CONTENT_TYPE``)."""
    head = {
        "k": "pull",
        "cp": page.checkpoint,
        "more": page.more,
        "snap": page.snapshot_required,
        "t": page.hub_time_ms,
    }
    return _deflate(head, page.changes, _PULL_FIELDS, level)


def decode_pull(data: bytes, *, max_raw_bytes: int) -> PullPage:
    """A pull body read within the size limit; ``WireError`` or ``BatchTooLarge`` otherwise."""
    doc, n = _open(data, "pull", max_raw_bytes, None)
    fields = {
        "checkpoint": _get(doc, "cp", int),
        "more": _get(doc, "more", bool),
        "snapshot_required": _get(doc, "snap", bool),
        "hub_time_ms": _get(doc, "t", int),
    }
    return _validated(PullPage, {**fields, "changes": _read_rows(doc, n, _PULL_FIELDS)})


# --- writing ---------------------------------------------------------------------------------


def _deflate(
    head: dict[str, Any], rows: Sequence[BaseModel], fields: Sequence[str], level: int
) -> bytes:
    doc = {"v": WIRE_VERSION, **head, "n": len(rows), **_write_rows(rows, fields)}
    try:
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WireError(f"a payload is not plain JSON: {exc}") from exc
    return zlib.compress(text.encode(), level)


def _write_rows(rows: Sequence[BaseModel], fields: Sequence[str]) -> dict[str, Any]:
    writer = _Writer()
    cols = {name: writer.column([getattr(row, name) for row in rows]) for name in fields}
    index: dict[tuple[str, ...], int] = {}
    groups: list[list[dict[str, Any]]] = []
    shape_of = []
    for row in rows:
        payload: dict[str, Any] = getattr(row, "payload")  # noqa: B009 - Change and FeedChange
        shape = index.setdefault(tuple(payload), len(groups))
        if shape == len(groups):
            groups.append([])
        groups[shape].append(payload)
        shape_of.append(shape)
    cols["shape"] = ["i", *_steps(shape_of)]
    keys_of = list(index)
    payload_cols = [
        [writer.column([p[key] for p in group]) for key in keys]
        for keys, group in zip(keys_of, groups, strict=True)
    ]
    return {"cols": cols, "shapes": [list(keys) for keys in keys_of], "p": payload_cols}


def _steps(values: Sequence[int]) -> list[int]:
    return [b - a for a, b in zip([0, *values], values, strict=False)]


class _Writer:
    """Encodes columns in order, keeping the document's string table."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def column(self, values: Sequence[Any]) -> list[Any]:
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, str) and _STAMP.fullmatch(v) for v in present):
            return self._stamps(values)
        if all(isinstance(v, str) for v in present):
            return ["s", *self._strings(values)]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return ["i", *_steps(values)]
        return ["j", *values]

    def _strings(self, values: Sequence[str | None]) -> list[str | int | None]:
        out: list[str | int | None] = []
        last = 0
        for value in values:
            if value is None:
                out.append(None)
                continue
            index = self._index.get(value)
            if index is None:
                index = self._index[value] = len(self._index)
                out.append(value)
            else:
                out.append(index - last)
            last = index
        return out

    def _stamps(self, values: Sequence[str | None]) -> list[Any]:
        walls: list[int | None] = []
        counters: list[int] = []
        nodes: list[str | None] = []
        last = 0
        for value in values:
            match = _STAMP.fullmatch(value) if value is not None else None
            if match is None:
                walls.append(None)
                continue
            wall = int(match[1])
            walls.append(wall - last)
            last = wall
            counters.append(int(match[2]))
            nodes.append(match[3])
        return ["h", walls, counters, self._strings(nodes)]


# --- reading ---------------------------------------------------------------------------------

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)


def _open(
    data: bytes, kind: str, max_raw_bytes: int, max_changes: int | None
) -> tuple[dict[str, Any], int]:
    """Inflate at most ``max_raw_bytes``, parse, and check version, kind and change count."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, max_raw_bytes + 1)
    except zlib.error as exc:
        raise WireError("body is not a zlib stream") from exc
    if len(raw) > max_raw_bytes:
        hint = f"send fewer changes per request (at most {max_raw_bytes} bytes uncompressed)"
        raise BatchTooLarge("body inflates past the size limit", limit=max_raw_bytes, hint=hint)
    if not inflater.eof:
        raise WireError("zlib stream is truncated")
    if inflater.unused_data:
        raise WireError("bytes follow the zlib stream")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError("body is not UTF-8 JSON") from exc
    _check(isinstance(doc, dict), "document is not a JSON object")
    version = doc.get("v")
    _check(version == WIRE_VERSION, f"unsupported wire version {version!r}")
    _check(doc.get("k") == kind, f"not a {kind} document")
    n = _get(doc, "n", int)
    if max_changes is not None and n > max_changes:
        hint = f"send at most {max_changes} changes per batch"
        raise BatchTooLarge(f"{n} changes in one batch", limit=max_changes, hint=hint)
    _check(0 <= n <= len(raw), "change count does not fit the body")
    return doc, n


def _refuse_constant(name: str) -> Any:
    raise WireError(f"{name} is not JSON")


def _read_rows(doc: dict[str, Any], n: int, fields: Sequence[str]) -> list[dict[str, Any]]:
    reader = _Reader()
    cols = _get(doc, "cols", dict)
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for name in fields:
        for row, value in zip(rows, reader.column(cols.get(name), n), strict=True):
            row[name] = value
    shapes = _get(doc, "shapes", list)
    payload_cols = _get(doc, "p", list)
    _check(len(shapes) == len(payload_cols) <= n, "shapes and payload columns do not match")
    members: list[list[dict[str, Any]]] = [[] for _ in shapes]
    for row, shape in zip(rows, reader.column(cols.get("shape"), n), strict=True):
        _check(type(shape) is int and 0 <= shape < len(shapes), "bad payload shape")
        row["payload"] = {}
        members[shape].append(row["payload"])
    for keys, key_cols, group in zip(shapes, payload_cols, members, strict=True):
        _check(isinstance(keys, list) and isinstance(key_cols, list), "bad payload shape")
        _check(len(keys) == len(key_cols), "payload keys and columns do not match")
        for key, col in zip(keys, key_cols, strict=True):
            _check(isinstance(key, str), "payload key is not a string")
            for payload, value in zip(group, reader.column(col, len(group)), strict=True):
                payload[key] = value
    return rows


class _Reader:
    """Decodes columns in the order they were written, rebuilding the string table."""

    def __init__(self) -> None:
        self._table: list[str] = []

    def column(self, col: Any, n: int) -> list[Any]:
        _check(isinstance(col, list) and bool(col), "missing column")
        tag, body = col[0], col[1:]
        if tag == "h" and len(body) == 3:  # walls, counters, nodes
            values = self._stamps(*body)
        elif tag == "s":
            values = self._strings(body)
        elif tag == "i":
            _check(all(type(v) is int for v in body), "integer column holds a non-integer")
            values = list(itertools.accumulate(body))
        elif tag == "j":
            values = body
        else:
            raise WireError(f"unknown column form {tag!r}")
        _check(len(values) == n, "column length does not match the change count")
        return values

    def _strings(self, body: Sequence[Any]) -> list[str | None]:
        out: list[str | None] = []
        last = 0
        for item in body:
            if isinstance(item, str):
                last = len(self._table)
                self._table.append(item)
                out.append(item)
            elif type(item) is int and 0 <= last + item < len(self._table):
                last += item
                out.append(self._table[last])
            else:
                _check(item is None, "string column holds a bad reference")
                out.append(None)
        return out

    def _stamps(self, walls: Any, counters: Any, nodes: Any) -> list[str | None]:
        _check(isinstance(walls, list) and isinstance(counters, list), "bad stamp column")
        _check(isinstance(nodes, list), "bad stamp column")
        steps = [w for w in walls if w is not None]
        _check(all(type(v) is int for v in steps + counters), "bad stamp column")
        node_ids = self._strings(nodes)
        _check(len(steps) == len(counters) == len(node_ids), "bad stamp column")
        out: list[str | None] = []
        parts = iter(zip(counters, node_ids, strict=True))
        wall = 0
        for step in walls:
            if step is None:
                out.append(None)
                continue
            counter, node = next(parts)
            wall += step
            _check(0 <= wall < 10**13 and 0 <= counter < 10**5 and bool(node), "bad stamp")
            out.append(f"{wall:013d}-{counter:05d}-{node}")
        return out


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise WireError(message)


def _get(doc: dict[str, Any], key: str, kind: type[_T]) -> _T:
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError(f"field {key!r} is missing or not {kind.__name__}")
    return value


def _validated(model: type[_M], data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise WireError(f"invalid {model.__name__}: {where}: {first['msg']}") from exc
