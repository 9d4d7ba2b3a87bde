"""The node's audit log read back: pages of events, and verification of the hash chain.

The chain holds when the events run 1, 2, 3 ... with no gap, each ``prev_hash`` is the hash of
the event before it (``GENESIS_HASH`` for the first), each stored hash equals the hash computed
again from the row, and the last event is the chain head recorded in ``node_state`` (so deleting
the newest events is caught too). The first broken sequence number is reported with the reason.
Verification runs over a plain ``sqlite3`` connection (the CLI) or async (the API); both read
the rows through the same SQL and the same checks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.errors import SetupError
from edge.journal import audit_hash
from edge.tables import AuditEvent
from sync.audit_hash import GENESIS_HASH
from sync.shapes.audit import AuditEventOut, AuditPage, ChainReport

PAGE_ROWS = 1000
_COLUMNS = "seq, node_id, hlc, actor, action, entity, entity_id, details, at, prev_hash, hash"
_ALL = f"SELECT {_COLUMNS} FROM audit_event ORDER BY seq"  # noqa: S608 - constant text
_PAGE = f"SELECT {_COLUMNS} FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?"  # noqa: S608
_HEAD = "SELECT audit_seq, audit_hash FROM node_state"


class ChainWalker:
    """Feeds on rows in sequence order and remembers the first fault."""

    def __init__(self) -> None:
        self.checked = 0
        self.prev_hash = GENESIS_HASH
        self.fault: ChainReport | None = None

    def feed(self, row: Sequence[Any]) -> bool:
        """Check one row; False once the chain is broken (stop reading)."""
        expected, seq = self.checked + 1, row[0]
        if seq != expected:
            return self._fail(expected, f"sequence {expected} is missing (the next event is {seq})")
        try:
            event = _event(row)
        except (TypeError, ValueError) as exc:
            return self._fail(seq, f"event {seq} is unreadable: {exc}")
        if event.prev_hash != self.prev_hash:
            return self._fail(seq, f"event {seq} does not follow the hash of event {seq - 1}")
        if audit_hash(event) != event.hash:
            return self._fail(seq, f"event {seq} was altered: its content does not match its hash")
        self.checked, self.prev_hash = seq, event.hash
        return True

    def finish(self, head: Sequence[Any] | None) -> ChainReport:
        """The report, also checking the last event against the recorded chain head."""
        if self.fault is not None:
            return self.fault
        if head is not None:
            head_seq, head_hash = int(head[0]), str(head[1])
            if self.checked < head_seq:
                missing = self.checked + 1
                return self._report(
                    missing, f"sequence {missing} is missing (the chain ends early)"
                )
            if self.checked > head_seq:
                return self._report(head_seq + 1, f"event {head_seq + 1} is beyond the chain head")
            if self.prev_hash != head_hash:
                return self._report(head_seq, f"event {head_seq} is not the recorded chain head")
        return ChainReport(ok=True, checked=self.checked)

    def _fail(self, seq: int, reason: str) -> bool:
        self.fault = self._report(seq, reason)
        return False

    def _report(self, seq: int, reason: str) -> ChainReport:
        return ChainReport(ok=False, checked=self.checked, first_bad_seq=seq, reason=reason)


def verify_connection(conn: sqlite3.Connection) -> ChainReport:
    """Walk the chain through a plain ``sqlite3`` connection, on one read snapshot."""
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")
    try:
        walker = ChainWalker()
        for row in conn.execute(_ALL):
            if not walker.feed(row):
                break
        return walker.finish(conn.execute(_HEAD).fetchone())
    finally:
        if own_transaction:
            conn.rollback()


def verify_database(path: Path) -> ChainReport:
    """Walk the chain of the database file at ``path``, opened read-only (for the CLI)."""
    if not path.is_file():
        raise SetupError(f"{path}: no such database")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        return verify_connection(conn)
    finally:
        conn.close()


async def verify_chain(source: AsyncSession | AsyncConnection) -> ChainReport:
    """Walk the chain through an async session or connection, a page at a time."""
    conn = await source.connection() if isinstance(source, AsyncSession) else source
    walker, after = ChainWalker(), 0
    while True:
        page = (await conn.exec_driver_sql(_PAGE, (after, PAGE_ROWS))).all()
        if not all(walker.feed(row) for row in page) or len(page) < PAGE_ROWS:
            break
        after = page[-1][0]
    head = (await conn.exec_driver_sql(_HEAD)).first()
    return walker.finish(head)


def _event(row: Sequence[Any]) -> AuditEvent:
    seq, node_id, hlc, actor, action, entity, entity_id, details, at, prev_hash, stored = row
    return AuditEvent(
        seq=seq,
        node_id=node_id,
        hlc=hlc,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=json.loads(details),
        at=datetime.fromisoformat(at),
        prev_hash=prev_hash,
        hash=stored,
    )


async def read_events(session: AsyncSession, after_seq: int, limit: int) -> AuditPage:
    """Up to ``limit`` events after ``after_seq``, in sequence order."""
    query = select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(col(AuditEvent.seq))
    rows = (await session.exec(query.limit(limit + 1))).all()
    events = [AuditEventOut.model_validate(row.model_dump()) for row in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(events=events, next_after_seq=events[-1].seq if more else None)
