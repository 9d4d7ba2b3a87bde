"""Verification of the nodes' audit chains on the hub: every event re-hashed, every link checked.

A node's chain holds when its events run 1, 2, 3 ... with no gap, the first one's ``prev_hash``
is ``GENESIS_HASH`` and each later one's is the hash of the event before it, and each stored
hash equals the hash computed again from the row exactly as the edge computed it
(``sync.audit_hash``). The first broken sequence number is reported with the reason; nothing is
repaired. Ingest (``hub.sync_records``) checks only the links of each pushed batch; this walks
the whole stored chain, so a row altered or inserted behind ingest's back is found too.

The events are streamed in ``seq`` order through a server-side cursor, a batch of
``BATCH_ROWS`` at a time (memory stays bounded whatever the chain's length), the next batch
already requested while the current one is checked. Per row the walk does a few comparisons,
one SHA-256 and no dict: ``details`` come as jsonb text and their canonical form is cached,
since most events of a kind carry the same details.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import asyncpg

from hub.db import Database
from hub.errors import NotFound
from hub.sync_feed import driver
from sync.audit_hash import GENESIS_HASH, canonical_json, chain_hasher

BATCH_ROWS = 20_000
SLICE_ROWS = 1_000
_CACHE_LIMIT = 4_096  # distinct details texts kept; the cache is emptied when full

# ``at`` is written by PostgreSQL the way ``datetime.isoformat()`` writes a UTC instant (no
# fraction when the microseconds are zero): decoding a timestamptz and formatting it again in
# Python would cost a third of the walk. tests/hub/test_audit_chain.py holds the forms equal.
EVENTS_SQL = (
    "SELECT seq, hlc, actor, action, entity, entity_id, details::text,"
    " to_char(utc, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN utc = date_trunc('second', utc) THEN '' ELSE to_char(utc, '.US') END"
    " || '+00:00', prev_hash, hash"
    " FROM audit_event CROSS JOIN LATERAL (SELECT at AT TIME ZONE 'UTC' AS utc) AS instant"
    " WHERE node_id = $1 ORDER BY seq"
)
# Node ids by a loose index scan over the primary key (node_id, seq): one probe per node,
# not a pass over every event; enrolled nodes without events are listed too.
_NODES = (
    "WITH RECURSIVE seen(id) AS ("
    " SELECT min(node_id) FROM audit_event"
    " UNION ALL SELECT (SELECT min(node_id) FROM audit_event WHERE node_id > seen.id)"
    " FROM seen WHERE seen.id IS NOT NULL)"
    " SELECT id FROM seen WHERE id IS NOT NULL UNION SELECT id FROM node ORDER BY 1"
)

Progress = Callable[[str, int], None]  # (node id, events checked so far), after each batch


@dataclass(frozen=True)
class ChainReport:
    """One node's chain: ``events`` verified from seq 1 (all of them when the chain holds)."""

    node_id: str
    events: int
    first_break_seq: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_break_seq is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChainWalker:
    """Feeds on batches of rows in ``seq`` order and stops at the first break."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.events = 0
        self.previous = GENESIS_HASH
        self.report: ChainReport | None = None  # set at the first break
        self._details: dict[str, str] = {}
        self._hash = chain_hasher(node_id)

    def feed(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Check a batch; False once the chain is broken (read no further)."""
        event_hash, details_cache, previous = self._hash, self._details, self.previous
        expected = self.events + 1
        for seq, hlc, actor, action, entity, entity_id, details, at, prev_hash, stored in rows:
            if seq != expected:
                missing = f"sequence {expected} is missing (the next event is {seq})"
                return self._break(expected, missing)
            if prev_hash != previous:
                return self._break(seq, f"event {seq} does not follow the hash of event {seq - 1}")
            details_json = details_cache.get(details) or self._canonical(details)
            # prev_hash is GENESIS_HASH or a digest computed here, as the hasher requires
            computed = event_hash(
                seq, hlc, actor, action, entity, entity_id, details_json, at, prev_hash
            )
            if computed != stored:
                altered = f"event {seq} was altered: its content does not match its hash"
                return self._break(seq, altered)
            previous = stored
            expected += 1
        self.events, self.previous = expected - 1, previous
        return True

    def finish(self) -> ChainReport:
        return self.report or ChainReport(self.node_id, self.events)

    def _canonical(self, details: str) -> str:
        """The canonical form of a jsonb text (PostgreSQL writes ``{"a": 1}``, keys by length)."""
        text = canonical_json(json.loads(details))
        if len(self._details) >= _CACHE_LIMIT:
            self._details.clear()
        self._details[details] = text
        return text

    def _break(self, seq: int, reason: str) -> bool:
        """Record the break at ``seq``: every event before it verified."""
        self.events = seq - 1
        self.report = ChainReport(self.node_id, self.events, seq, reason)
        return False


async def verify_node(
    conn: asyncpg.Connection,
    node_id: str,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ChainReport:
    """Walk one node's chain; ``conn`` must be inside a transaction (the cursor lives in it)."""
    walker = ChainWalker(node_id)
    cursor = await conn.cursor(EVENTS_SQL, node_id)
    pending = asyncio.ensure_future(cursor.fetch(batch_rows))
    try:
        while pending is not None:
            rows = await pending
            pending = None
            if len(rows) == batch_rows:  # ask for the next batch: PostgreSQL reads it meanwhile
                pending = asyncio.ensure_future(cursor.fetch(batch_rows))
                await asyncio.sleep(0)
            going = await _feed_in_slices(walker, rows)
            if progress is not None:
                progress(node_id, walker.events)
            if not going:
                break
    finally:
        if pending is not None:  # the connection is free again only once that fetch is read
            await pending
    return walker.finish()


async def _feed_in_slices(walker: ChainWalker, rows: list[asyncpg.Record]) -> bool:
    """Feed a batch a slice at a time, letting the driver drain the socket in between: the
    next batch keeps streaming in instead of stalling once the socket's buffer is full."""
    for start in range(0, len(rows), SLICE_ROWS):
        if not walker.feed(rows[start : start + SLICE_ROWS]):
            return False
        await asyncio.sleep(0)
    return True


async def node_ids(conn: asyncpg.Connection) -> list[str]:
    """Every node with a chain or an enrolment, in id order."""
    return [row[0] for row in await conn.fetch(_NODES)]


async def verify_chains(
    db: Database, only: str | None = None, progress: Progress | None = None
) -> list[ChainReport]:
    """Walk the chain of ``only`` or of every node, each in a read transaction of its own."""
    async with db.read() as session:
        known = await node_ids(await driver(session))
    if only is not None:
        if only not in known:
            raise NotFound(f"no node {only!r} on this hub (no enrolment, no audit events)")
        known = [only]
    reports = []
    for node_id in known:
        async with db.read() as session:
            reports.append(await verify_node(await driver(session), node_id, progress))
    return reports


# --- what ``prep-hub audit-verify`` prints ------------------------------------------------------


def report_line(report: ChainReport) -> str:
    """One line per node: ``NODE: N events, intact`` or where and why the chain breaks."""
    if report.intact:
        return f"{report.node_id}: {report.events:,} events, intact"
    return (
        f"{report.node_id}: BROKEN at seq {report.first_break_seq} "
        f"({report.events:,} events intact before it): {report.reason}"
    )


class ProgressLines:
    """A progress callback writing ``NODE: N events checked`` to ``stream``, at most every
    ``every_s`` seconds and only once a run has lasted that long (short runs stay quiet)."""

    def __init__(self, stream: TextIO, every_s: float = 2.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self.started = self._last = time.monotonic()

    def __call__(self, node_id: str, events: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(f"  {node_id}: {events:,} events checked", file=self.stream, flush=True)

    def summary(self, reports: list[ChainReport]) -> str:
        events = sum(r.events for r in reports)
        broken = sum(not r.intact for r in reports)
        took = time.monotonic() - self.started
        return f"{len(reports)} chains, {events:,} events verified in {took:.1f} s; {broken} broken"
