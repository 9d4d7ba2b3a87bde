"""Every replicated write leaves two traces in its own transaction: an audit event and outbox rows.

``Tx`` is the unit of work of one write: the session on the writer connection, "now", the
acting user, the node's counters and its outbox (``tx.changes``, the edge's change store).
``Tx.record`` appends a hash-chained audit event (and an outbox row carrying it) and, for a
changed record, an outbox row with the record. Counters are read under the write lock and written
back before commit, so sequences stay contiguous; if the audit write fails, the business write
fails with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.change_store import SqliteChangeStore
from edge.columns import canonical_json, utc_text
from edge.db import Database, raw_connection
from edge.errors import SetupError
from edge.tables import AuditEvent, NodeState
from sync.audit_hash import GENESIS_HASH as GENESIS_HASH  # re-exported: edge.setup seeds it
from sync.audit_hash import audit_body
from sync.audit_hash import audit_hash as hash_body
from sync.change_store import NewChange
from sync.hlc import HybridLogicalClock, Stamp
from sync.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the node itself (jobs, CLI)."""

    user_id: str
    username: str
    role: Role

    @property
    def label(self) -> str:
        return f"{self.role}:{self.username}"


SYSTEM = Actor("system", "system", Role.ADMIN)


def _audit_body(event: AuditEvent) -> dict[str, Any]:
    """What the hash covers: every field of the event but the hash itself."""
    return audit_body(
        event.seq,
        event.node_id,
        event.hlc,
        event.actor,
        event.action,
        event.entity,
        event.entity_id,
        event.details,
        event.at,
        event.prev_hash,
    )


def audit_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous hash (canonical JSON)."""
    return hash_body(_audit_body(event))


@dataclass
class NodeCounters:
    """The node_state columns a write advances; read at BEGIN, written back before COMMIT
    (the outbox counter is the change store's ``newest_seq``)."""

    node_id: str
    site_id: str
    audit_seq: int
    audit_hash: str


_SELECT_NODE = (
    "SELECT node_id, site_id, outbox_seq, audit_seq, audit_hash FROM node_state WHERE id = 1"
)
_UPDATE_NODE = (
    "UPDATE node_state SET hlc_last = ?, outbox_seq = ?, audit_seq = ?, audit_hash = ? WHERE id = 1"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_event (seq, node_id, hlc, actor, action, entity, entity_id, details, at, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Tx:
    """One write transaction with its audit and outbox helpers.

    Business rows go through ``session`` (the ORM); the journal's own rows are appended with
    plain parameterised statements on the same connection and transaction, which keeps the
    per-write cost of capture low.
    """

    def __init__(
        self,
        session: AsyncSession,
        raw: sqlite3.Connection,
        node: NodeCounters,
        changes: SqliteChangeStore,
        clock: HybridLogicalClock,
        now: datetime,
        actor: Actor,
    ) -> None:
        self.session = session
        self.raw = raw
        self.node = node
        self.changes = changes
        self.clock = clock
        self.now = now
        self.actor = actor
        self._at = utc_text(now)

    def stamp(self) -> str:
        return self.clock.now().encode()

    def change(
        self, entity: str, entity_id: str, payload: dict[str, Any], op: str = "upsert"
    ) -> str:
        """Queue a record for replication; returns the change's HLC."""
        hlc = self.stamp()
        self.changes.add(
            NewChange(self.node.node_id, hlc, entity, entity_id, op, payload), self.now
        )
        return hlc

    def record(
        self,
        action: str,
        entity: str,
        entity_id: str,
        details: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Audit ``action`` on an entity; with ``state``, also replicate the entity's new state."""
        if state is not None:
            self.change(entity, entity_id, state)
        self.node.audit_seq += 1
        event = AuditEvent(
            seq=self.node.audit_seq,
            node_id=self.node.node_id,
            hlc=self.stamp(),
            actor=self.actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details or {},
            at=self.now,
            prev_hash=self.node.audit_hash,
            hash="",
        )
        event.hash = audit_hash(event)
        self.node.audit_hash = event.hash
        self.raw.execute(
            _INSERT_AUDIT,
            (
                event.seq,
                event.node_id,
                event.hlc,
                event.actor,
                event.action,
                event.entity,
                event.entity_id,
                canonical_json(event.details),
                self._at,
                event.prev_hash,
                event.hash,
            ),
        )
        self.change("audit_event", str(event.seq), _audit_payload(event), op="append")
        return event


def _audit_payload(event: AuditEvent) -> dict[str, Any]:
    return {**_audit_body(event), "hash": event.hash}


class Journal:
    """The node's clock and its write transactions."""

    def __init__(self, db: Database, clock: HybridLogicalClock) -> None:
        self.db = db
        self.clock = clock

    @classmethod
    async def open(cls, db: Database, physical_ms: Any) -> Journal:
        async with db.read() as session:
            node = (await session.exec(select(NodeState))).first()
        if node is None:
            raise SetupError(f"{db.path} has no node state (run prep-edge init)")
        return cls(db, HybridLogicalClock(node.node_id, physical_ms, Stamp.decode(node.hlc_last)))

    @asynccontextmanager
    async def write(self, actor: Actor, now: datetime) -> AsyncIterator[Tx]:
        now = now.astimezone(UTC)  # audit hashes use the stored (UTC) form of the instant
        async with self.db.write() as session:
            raw = await raw_connection(session)
            row = raw.execute(_SELECT_NODE).fetchone()
            if row is None:
                raise SetupError(f"{self.db.path} has no node state (run prep-edge init)")
            node_id, site_id, outbox_seq, audit_seq, audit_hash = row
            node = NodeCounters(node_id, site_id, audit_seq, audit_hash)
            changes = SqliteChangeStore(raw, node_id, outbox_seq)
            tx = Tx(session, raw, node, changes, self.clock, now, actor)
            yield tx
            await session.flush()  # business rows first, so a failing constraint stops the write
            raw.execute(
                _UPDATE_NODE,
                (self.clock.last.encode(), changes.newest_seq, node.audit_seq, node.audit_hash),
            )
