"""Every replicated write leaves two traces in its own transaction: an audit event and outbox rows.

``Tx`` is the unit of work of one write: the session on the writer connection, "now", the
acting user, and the node's counters. ``Tx.record`` appends a hash-chained audit event (and an
outbox row carrying it) and, for a changed record, an outbox row with the record. Counters are
read under the write lock and written back before commit, so sequences stay contiguous; if the
audit write fails, the business write fails with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.db import Database
from edge.errors import SetupError
from edge.tables import AuditEvent, NodeState, OutboxChange
from sync.hlc import HybridLogicalClock, Stamp
from sync.vocabulary import Role

GENESIS_HASH = "0" * 64


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


def audit_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous hash (canonical JSON)."""
    body = {
        "seq": event.seq,
        "node_id": event.node_id,
        "hlc": event.hlc,
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "details": event.details,
        "at": event.at.isoformat(),
        "prev_hash": event.prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Tx:
    """One write transaction with its audit and outbox helpers."""

    def __init__(
        self,
        session: AsyncSession,
        node: NodeState,
        clock: HybridLogicalClock,
        now: datetime,
        actor: Actor,
    ) -> None:
        self.session = session
        self.node = node
        self.clock = clock
        self.now = now
        self.actor = actor

    def stamp(self) -> str:
        return self.clock.now().encode()

    def change(
        self, entity: str, entity_id: str, payload: dict[str, Any], op: str = "upsert"
    ) -> str:
        """Queue a record for replication; returns the change's HLC."""
        hlc = self.stamp()
        self.node.outbox_seq += 1
        self.session.add(
            OutboxChange(
                seq=self.node.outbox_seq,
                hlc=hlc,
                entity=entity,
                entity_id=entity_id,
                op=op,
                payload=payload,
                created_at=self.now,
            )
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
        self.session.add(event)
        self.change("audit_event", str(event.seq), _audit_payload(event), op="append")
        return event


def _audit_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "node_id": event.node_id,
        "hlc": event.hlc,
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "details": event.details,
        "at": event.at.isoformat(),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


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
            node = (await session.exec(select(NodeState))).one()
            tx = Tx(session, node, self.clock, now, actor)
            yield tx
            node.hlc_last = self.clock.last.encode()
            session.add(node)
