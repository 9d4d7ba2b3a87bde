"""Audit shapes: one hash-chained event, a page of them, and a chain verification report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    """One audit event as recorded (``hash`` chains it to ``prev_hash``)."""

    seq: int
    node_id: str
    hlc: str
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any]
    at: datetime
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """Events after a sequence number; ``next_after_seq`` is None on the last page."""

    events: list[AuditEventOut]
    next_after_seq: int | None


class ChainReport(BaseModel):
    """The outcome of walking a node's audit chain from sequence 1."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
