"""The status bar under every screen: the edge's link to the hub, what waits to sync, rules.

It reads ``sync_status`` and ``reference`` from the app (refreshed by the app's timer) and
redraws itself when either changes. Colours come from its component classes in the ``.tcss``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import Static

from sync.shapes.sync_status import SyncStatus
from tui.client import ReferenceInfo
from tui.display import moment, valid_through

REFERENCE_WARNING = timedelta(days=14)
SEPARATOR = " │ "


class StatusBar(Static):
    """ONLINE/OFFLINE since, changes waiting, last sync, open conflicts, reference version."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--online",
        "status-bar--offline",
        "status-bar--warn",
        "status-bar--muted",
    }

    def show(
        self,
        status: SyncStatus | None,
        reference: ReferenceInfo | None,
        now: datetime,
        tz: ZoneInfo,
    ) -> None:
        parts = [self._link(status, now, tz)]
        if status is not None:
            parts.extend(self._queue(status, now, tz))
        parts.append(self._reference(reference, now, tz))
        line = Text(no_wrap=True, overflow="ellipsis")
        for index, part in enumerate(parts):
            if index:
                line.append(SEPARATOR, self.get_component_rich_style("status-bar--muted"))
            line.append_text(part)
        self.update(line)

    def _link(self, status: SyncStatus | None, now: datetime, tz: ZoneInfo) -> Text:
        if status is None:
            return Text("sync: not known yet", self.get_component_rich_style("status-bar--muted"))
        if not status.enrolled:
            return Text("LOCAL ONLY", self.get_component_rich_style("status-bar--warn"))
        if status.online:
            return Text("● ONLINE", self.get_component_rich_style("status-bar--online"))
        since = f" since {moment(status.offline_since, tz, now)}" if status.offline_since else ""
        return Text(f"● OFFLINE{since}", self.get_component_rich_style("status-bar--offline"))

    def _queue(self, status: SyncStatus, now: datetime, tz: ZoneInfo) -> list[Text]:
        waiting = Text(f"{status.outbox_depth} waiting")
        synced_at = max(
            (at for at in (status.last_push_at, status.last_pull_at) if at is not None),
            default=None,
        )
        synced = Text(f"synced {moment(synced_at, tz, now)}")
        count = status.open_conflicts or 0
        conflicts = Text(
            f"{count} conflict{'s' if count != 1 else ''}",
            self.get_component_rich_style("status-bar--warn") if count else "",
        )
        return [waiting, synced, conflicts]

    def _reference(self, reference: ReferenceInfo | None, now: datetime, tz: ZoneInfo) -> Text:
        if reference is None:
            return Text("rules ?", self.get_component_rich_style("status-bar--muted"))
        through = valid_through(reference.reference_expires_at, tz)
        text = f"rules v{reference.reference_version} to {through.isoformat()}"
        if reference.reference_expired:
            return Text(f"{text} EXPIRED", self.get_component_rich_style("status-bar--offline"))
        if reference.reference_expires_at - now <= REFERENCE_WARNING:
            return Text(text, self.get_component_rich_style("status-bar--warn"))
        return Text(text)
