"""Reading the edge's audit log, which pages oldest first: its tail, or everything since a day."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.shapes.audit import AuditEventOut
from tui.client import EdgeClient

PAGE = 1000


async def recent_events(edge: EdgeClient, keep: int) -> list[AuditEventOut]:
    """The last ``keep`` events, newest first."""
    kept: list[AuditEventOut] = []
    after: int | None = 0
    while after is not None:
        page = await edge.audit_page(after, PAGE)
        kept = (kept + page.events)[-keep:]
        after = page.next_after_seq
    return kept[::-1]


async def events_since(edge: EdgeClient, since: datetime) -> list[AuditEventOut]:
    """Every event recorded at or after ``since``, oldest first."""
    kept: list[AuditEventOut] = []
    after: int | None = 0
    while after is not None:
        page = await edge.audit_page(after, PAGE)
        kept.extend(event for event in page.events if _aware(event.at) >= since)
        after = page.next_after_seq
    return kept


def _aware(moment: datetime) -> datetime:
    """The edge writes UTC instants; one without an offset is read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
