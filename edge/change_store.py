"""The edge's change store on SQLite: the outbox is its log, the pull checkpoint the hub's mark.

A store wraps the sqlite3 connection of one open transaction (``edge.db.raw_connection``) and
runs plain statements on it. Appends belong to ``Journal.write``, the one writer of the outbox:
it reads the outbox counter with the node's other counters at ``BEGIN IMMEDIATE`` and stores
``newest_seq`` back before commit, so seqs stay contiguous and a rolled-back write leaves no
hole. The single writer also makes ``claim`` a lock by construction: no other write transaction
runs until this one ends. The one origin whose log this node applies is the hub
(``HUB_ORIGIN``); its mark is ``sync_state.pull_checkpoint``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from edge.columns import canonical_json, utc_text
from edge.errors import SetupError
from sync.change_store import HUB_ORIGIN, Claim, NewChange, StoredChange, UnknownOrigin, sort_batch

_read = msgspec.json.Decoder(dict[str, Any]).decode  # the outbox holds well-formed JSON

_NODE = "SELECT node_id, outbox_seq FROM node_state WHERE id = 1"
_INSERT = (
    "INSERT INTO outbox (seq, hlc, entity, entity_id, op, payload, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_AFTER = (
    "SELECT seq, hlc, entity, entity_id, op, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"
)
_MARK = "SELECT pull_checkpoint FROM sync_state WHERE id = 1"
_MOVE_MARK = "UPDATE sync_state SET pull_checkpoint = max(pull_checkpoint, ?) WHERE id = 1"


class SqliteChangeStore:
    """The outbox and the pull checkpoint, on one transaction's connection."""

    contiguous = True

    def __init__(self, raw: sqlite3.Connection, node_id: str, newest_seq: int) -> None:
        self.raw = raw
        self.node_id = node_id
        self.newest_seq = newest_seq  # the last seq numbered; Journal.write stores it back
        self._at: datetime | None = None
        self._at_text = ""

    @classmethod
    def open(cls, raw: sqlite3.Connection) -> SqliteChangeStore:
        """A store on ``raw`` for reading (the counter as committed)."""
        row = raw.execute(_NODE).fetchone()
        if row is None:
            raise SetupError("this database has no node state (run prep-edge init)")
        return cls(raw, row[0], int(row[1]))

    def add(self, change: NewChange, at: datetime) -> int:
        """Append one change (the journal's hot path: one statement, no await)."""
        if change.origin != self.node_id:
            raise ValueError("the outbox holds this node's own changes only")
        if at is not self._at:  # a write stamps all its changes with one instant
            self._at, self._at_text = at, utc_text(at)
        self.newest_seq += 1
        self.raw.execute(
            _INSERT,
            (
                self.newest_seq,
                change.hlc,
                change.entity,
                change.entity_id,
                change.op,
                canonical_json(change.payload),
                self._at_text,
            ),
        )
        return self.newest_seq

    async def append(self, changes: Sequence[NewChange], at: datetime) -> list[int]:
        return [self.add(change, at) for change in changes]

    async def read_after(self, cursor: int, limit: int) -> list[StoredChange]:
        rows = self.raw.execute(_AFTER, (cursor, limit)).fetchall()
        return [
            StoredChange(seq, self.node_id, hlc, entity, entity_id, op, _read(payload))
            for seq, hlc, entity, entity_id, op, payload in rows
        ]

    async def applied_mark(self, origin: str) -> int:
        _only_the_hub(origin)
        (mark,) = self.raw.execute(_MARK).fetchone()
        return int(mark)

    async def claim(self, origin: str, seqs: Sequence[int], after: int | None = None) -> Claim:
        return sort_batch(await self.applied_mark(origin), seqs, after)

    async def mark_applied(self, origin: str, through: int) -> int:
        _only_the_hub(origin)
        self.raw.execute(_MOVE_MARK, (through,))
        return await self.applied_mark(origin)


def _only_the_hub(origin: str) -> None:
    if origin != HUB_ORIGIN:
        raise UnknownOrigin(f"this node applies the hub's feed only, not {origin!r}'s log")
