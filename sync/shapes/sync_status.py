"""The sync status of an edge node (``GET /api/v1/sync/status``), as the staff terminal shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SyncStatus(BaseModel):
    """Whether the node is enrolled and online, and what is waiting to sync.

    Fields the node cannot know yet (never pushed or pulled) are null.
    """

    enrolled: bool
    online: bool
    offline_since: datetime | None = None
    outbox_depth: int
    oldest_unsent_at: datetime | None = None
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None
    open_conflicts: int | None = None
    clock_offset_ms: int | None = None
    reference_version: int
