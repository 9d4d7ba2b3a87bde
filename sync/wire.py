"""The sync wire format: push batches and pull pages as column-oriented JSON, compressed with zlib.

A batch is one JSON document whose changes are stored column by column (``sync.wire_columns``),
then deflated. Columns put like values side by side (all stamps, all booking ids, all audit
hashes), which is what deflate's window needs to find repeats, and let both ends work a column
at a time instead of a value at a time. Payloads are grouped by *shape* (their ordered tuple of
keys) and stored as one column per key. A push implies ``seq`` from ``seq0`` and the position,
so a gap cannot even be expressed.

Changes are plain named tuples, not validated models: the decoder checks whole columns (types,
lengths, allowed ops, ascending sequences), which costs a few C-level passes per batch instead
of a model per change. Reading is safe on hostile input: decompression stops one byte past
``max_raw_bytes`` (a zlib bomb is never inflated), the change count is checked before any column
is read, and every malformed document raises ``WireError`` (``BatchTooLarge`` for limits).
"""

from __future__ import annotations

import collections
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from sync.sync_errors import BatchTooLarge, WireError
from sync.wire_columns import ColumnReader, ColumnWriter, check, steps

WIRE_VERSION = 2
CONTENT_TYPE = "application/vnd.prep.changes+zlib"
COMPRESSION_LEVEL = 1  # level 6 saves ~10% of the bytes for ~3x the compression time

Op = Literal["upsert", "delete", "append"]
OPS = frozenset({"upsert", "delete", "append"})
_LONGEST = {"hlc": 64, "entity": 64, "entity_id": 128, "origin": 128}
_PUSH_FIELDS = ("hlc", "entity", "entity_id", "op")
_PULL_FIELDS = ("hub_seq", "hlc", "origin", "entity", "entity_id", "op")  # FeedChange order


class Change(NamedTuple):
    """One outbox row of an edge."""

    seq: int
    hlc: str
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]


class FeedChange(NamedTuple):
    """One hub feed row sent to an edge on pull; ``origin`` is the node that wrote it."""

    hub_seq: int
    hlc: str
    origin: str
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PushBatch:
    """An edge's changes in ascending, contiguous ``seq``; ``generation`` names its database."""

    node_id: str
    generation: str
    changes: Sequence[Change]

    def __post_init__(self) -> None:
        check(0 < len(self.node_id) <= 128, "node_id must be 1-128 characters")
        check(0 < len(self.generation) <= 128, "generation must be 1-128 characters")
        seqs = [change.seq for change in self.changes]
        check(not seqs or seqs[0] >= 1, "seq starts at 1")
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True,
              "changes must be contiguous in seq")  # fmt: skip


@dataclass(frozen=True, slots=True)
class PullPage:
    """Feed rows in ascending ``hub_seq``; the edge stores ``checkpoint`` with them."""

    changes: Sequence[FeedChange]
    checkpoint: int
    more: bool
    hub_time_ms: int
    snapshot_required: bool = False

    def __post_init__(self) -> None:
        seqs = [change.hub_seq for change in self.changes]
        check(self.checkpoint >= 0, "checkpoint is negative")
        check(all(map(int.__lt__, seqs, seqs[1:])), "hub_seq must ascend")
        check(not seqs or seqs[0] >= 1, "hub_seq starts at 1")
        check(
            not seqs or self.checkpoint >= seqs[-1], "checkpoint is behind the page's last hub_seq"
        )


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


def encode_push(batch: PushBatch, level: int = COMPRESSION_LEVEL) -> bytes:
    """The body of a push request (``CONTENT_TYPE``)."""
    seq0 = batch.changes[0].seq if batch.changes else 1
    head = {"k": "push", "node": batch.node_id, "gen": batch.generation, "seq0": seq0}
    return _deflate(head, batch.changes, _PUSH_FIELDS, level)


def decode_push(data: bytes, *, max_changes: int, max_raw_bytes: int) -> PushBatch:
    """A push body read within the limits; ``WireError`` or ``BatchTooLarge`` otherwise."""
    doc, n = _open(data, "push", max_raw_bytes, max_changes)
    seq0 = _get(doc, "seq0", int)
    check(seq0 >= 1, "seq0 must be at least 1")
    columns = _read_columns(doc, n, _PUSH_FIELDS)
    changes = list(map(Change._make, zip(range(seq0, seq0 + n), *columns, strict=True)))
    return PushBatch(_get(doc, "node", str), _get(doc, "gen", str), changes)


def encode_pull(page: PullPage, level: int = COMPRESSION_LEVEL) -> bytes:
    """The body of a pull answer (``CONTENT_TYPE``)."""
    head = {
        "k": "pull",
        "cp": page.checkpoint,
        "more": page.more,
        "snap": page.snapshot_required,
        "t": page.hub_time_ms,
    }
    return _deflate(head, page.changes, _PULL_FIELDS, level, check_json=False)  # from jsonb


def decode_pull(data: bytes, *, max_raw_bytes: int) -> PullPage:
    """A pull body read within the size limit; ``WireError`` or ``BatchTooLarge`` otherwise."""
    doc, n = _open(data, "pull", max_raw_bytes, None)
    columns = _read_columns(doc, n, _PULL_FIELDS)
    return PullPage(
        changes=list(map(FeedChange._make, zip(*columns, strict=True))),
        checkpoint=_get(doc, "cp", int),
        more=_get(doc, "more", bool),
        snapshot_required=_get(doc, "snap", bool),
        hub_time_ms=_get(doc, "t", int),
    )


# --- writing ---------------------------------------------------------------------------------

_ENCODER = msgspec.json.Encoder()


def _deflate(
    head: dict[str, Any],
    rows: Sequence[tuple[Any, ...]],
    fields: Sequence[str],
    level: int,
    *,
    check_json: bool = True,
) -> bytes:
    writer = ColumnWriter(check_json=check_json)
    first = len(rows[0]) - len(fields) - 1 if rows else 0  # a push's seq is implied
    by_field = list(zip(*rows, strict=True)) or [()] * (len(fields) + first + 1)
    cols = {name: writer.column(by_field[first + i]) for i, name in enumerate(fields)}
    shapes, shape_of, payload_cols = _payload_columns(writer, by_field[-1])
    cols["shape"] = ["i", steps(shape_of)]
    doc = {"v": WIRE_VERSION, **head, "n": len(rows), "cols": cols, "shapes": shapes,
           "p": payload_cols, "strings": writer.table}  # fmt: skip
    try:
        text = _ENCODER.encode(doc)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise WireError(f"a payload is not plain JSON: {exc}") from exc
    return zlib.compress(text, level)


def _payload_columns(
    writer: ColumnWriter, payloads: Sequence[dict[str, Any]]
) -> tuple[list[list[str]], list[int], list[list[Any]]]:
    index: dict[tuple[str, ...], int] = {}
    groups: list[list[dict[str, Any]]] = []
    shape_of = []
    for payload in payloads:
        shape = index.setdefault(tuple(payload), len(groups))
        if shape == len(groups):
            groups.append([])
        groups[shape].append(payload)
        shape_of.append(shape)
    columns = [
        [writer.column(list(map(dict.__getitem__, group, itertools.repeat(key)))) for key in keys]
        for keys, group in zip(index, groups, strict=True)
    ]
    return [list(keys) for keys in index], shape_of, columns


# --- reading ---------------------------------------------------------------------------------

_DECODER = msgspec.json.Decoder()


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
        doc = _DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise WireError("body is not UTF-8 JSON") from exc
    check(isinstance(doc, dict), "document is not a JSON object")
    version = doc.get("v")
    check(version == WIRE_VERSION, f"unsupported wire version {version!r}")
    check(doc.get("k") == kind, f"not a {kind} document")
    n = _get(doc, "n", int)
    if max_changes is not None and n > max_changes:
        hint = f"send at most {max_changes} changes per batch"
        raise BatchTooLarge(f"{n} changes in one batch", limit=max_changes, hint=hint)
    check(0 <= n <= len(raw), "change count does not fit the body")
    return doc, n


def _read_columns(doc: dict[str, Any], n: int, fields: Sequence[str]) -> list[list[Any]]:
    """The named columns, each checked, then the payloads; in ``fields`` order."""
    reader = ColumnReader(doc.get("strings"))
    cols = _get(doc, "cols", dict)
    columns: list[list[Any]] = []
    for name in fields:
        if name == "hub_seq":
            seqs = reader.integers(cols.get(name), n, name)
            check(not seqs or min(seqs) >= 1, "hub_seq starts at 1")
            columns.append(seqs)
        else:
            columns.append(reader.strings(cols.get(name), n, name, _LONGEST.get(name, 16)))
    check(set(columns[-1]) <= OPS, "unknown op")
    columns.append(_read_payloads(reader, doc, cols, n))
    return columns


def _read_payloads(
    reader: ColumnReader, doc: dict[str, Any], cols: dict[str, Any], n: int
) -> list[dict[str, Any]]:
    shapes = _get(doc, "shapes", list)
    payload_cols = _get(doc, "p", list)
    check(len(shapes) == len(payload_cols) <= n, "shapes and payload columns do not match")
    shape_of = reader.integers(cols.get("shape"), n, "shape")
    counts = collections.Counter(shape_of)
    check(not shape_of or (min(shape_of) >= 0 and max(shape_of) < len(shapes)), "bad payload shape")
    groups = []
    for number, (keys, key_cols) in enumerate(zip(shapes, payload_cols, strict=True)):
        check(isinstance(keys, list) and isinstance(key_cols, list), "bad payload shape")
        check(set(map(type, keys)) <= {str}, "payload key is not a string")
        check(len(keys) == len(key_cols) == len(set(keys)), "payload keys and columns do not match")
        values = [reader.column(col, counts[number]) for col in key_cols]
        rows = zip(*values, strict=True) if values else itertools.repeat((), counts[number])
        groups.append(iter([dict(zip(keys, row, strict=True)) for row in rows]))
    return [next(groups[shape]) for shape in shape_of]


def _get(doc: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError(f"field {key!r} is missing or not {kind.__name__}")
    return value
