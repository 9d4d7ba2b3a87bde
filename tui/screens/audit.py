"""Audit: the most recent events of the site's hash-chained log, and ``v`` to verify the chain."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from sync.shapes.audit import ChainReport
from tui.audit_log import recent_events
from tui.display import moment, short_code, truncate
from tui.screens.base import StaffScreen

RECENT = 200


def verdict_text(report: ChainReport) -> str:
    if report.ok:
        return f"Chain intact: {report.checked} events checked."
    return f"CHAIN BROKEN at event {report.first_bad_seq}: {report.reason or 'no reason given'}"


class AuditScreen(StaffScreen):
    """Recent events, newest first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("v", "verify", "Verify chain")]

    def body(self) -> ComposeResult:
        yield Static("Audit log", id="screen-title")
        yield Static("v verifies the hash chain.", id="audit-result", markup=False)
        table: DataTable[str] = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#events", DataTable).add_columns("seq", "when", "actor", "action", "entity")

    async def load(self) -> None:
        events = await self.staff.call(recent_events(self.staff.edge, RECENT))
        if events is None:
            return
        table = self.query_one("#events", DataTable)
        table.clear()
        staff = self.staff
        for event in events:
            table.add_row(
                str(event.seq),
                moment(event.at, staff.tz, staff.now()),
                truncate(event.actor, 16),
                event.action,
                f"{event.entity} {short_code(event.entity_id)}",
            )

    @work(exclusive=True, group="verify")
    async def action_verify(self) -> None:
        result = self.query_one("#audit-result", Static)
        result.update("Verifying ...")
        report = await self.staff.call(self.staff.edge.audit_verify())
        if report is not None:
            result.update(verdict_text(report))
            result.set_class(report.ok, "-ok")
            result.set_class(not report.ok, "-bad")
