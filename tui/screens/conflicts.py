"""Conflicts: bookings sold twice across replicas, both side by side, and their resolution.

Enter on an open conflict offers the actions the edge lists for it (cancel the set-aside
booking, or move it to another slot).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from sync.shapes.bookings import BookingOut
from sync.shapes.conflicts import ConflictOut, ConflictResolve
from tui.dialogs.resolve import ResolveDialog
from tui.display import booking_code, moment, money, span, status_label
from tui.screens.base import StaffScreen


class ConflictsScreen(StaffScreen):
    """Every conflict, newest first; the highlighted one's bookings below."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[ConflictOut] = []

    def body(self) -> ComposeResult:
        yield Static("Conflicts", id="screen-title")
        table: DataTable[str] = DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="conflict-pair"):
            yield Static("", id="keeper", markup=False)
            yield Static("", id="loser", markup=False)
        yield Static("", id="conflict-hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#conflicts", DataTable).add_columns("status", "opened", "station", "rule")
        self.query_one("#keeper").border_title = "Kept"
        self.query_one("#loser").border_title = "Set aside"

    async def load(self) -> None:
        conflicts = await self.staff.call(self.staff.edge.conflicts())
        if conflicts is None:
            return
        self.conflicts = conflicts
        table = self.query_one("#conflicts", DataTable)
        table.clear()
        staff = self.staff
        for conflict in conflicts:
            booking = conflict.loser or conflict.keeper
            station = staff.directory.resource_name(booking.resource_id) if booking else "-"
            opened = moment(conflict.created_at, staff.tz, staff.now())
            table.add_row(conflict.status, opened, station, conflict.rule, key=conflict.id)
        self._show(conflicts[0] if conflicts else None)

    @on(DataTable.RowHighlighted, "#conflicts")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(self._conflict(event.row_key.value))

    def _conflict(self, conflict_id: str | None) -> ConflictOut | None:
        return next((c for c in self.conflicts if c.id == conflict_id), None)

    def _show(self, conflict: ConflictOut | None) -> None:
        keeper, loser = (conflict.keeper, conflict.loser) if conflict else (None, None)
        self.query_one("#keeper", Static).update(self._describe(keeper))
        self.query_one("#loser", Static).update(self._describe(loser))
        if conflict is None:
            hint = "No conflicts: every booking has its slot."
        elif conflict.actions:
            hint = "Enter: resolve (" + " or ".join(conflict.actions) + ")"
        else:
            hint = f"Resolved: {conflict.resolution or '-'}"
        self.query_one("#conflict-hint", Static).update(hint)

    def _describe(self, booking: BookingOut | None) -> str:
        if booking is None:
            return "-"
        directory, tz = self.staff.directory, self.staff.tz
        day = booking.start.astimezone(tz).date().isoformat()
        return (
            f"{directory.renter_name(booking.renter_id)}\n"
            f"{directory.resource_name(booking.resource_id)}\n"
            f"{day} {span(booking.start, booking.end, tz)}\n"
            f"{status_label(booking.status)} · {money(booking.price_cents)}\n"
            f"code {booking_code(booking.id)}"
        )

    @on(DataTable.RowSelected, "#conflicts")
    def _selected(self, event: DataTable.RowSelected) -> None:
        conflict = self._conflict(event.row_key.value)
        if conflict is None or not conflict.actions or conflict.loser is None:
            return
        stations = [(r.name, r.id) for r in self.staff.directory.resources if r.active]
        loser = conflict.loser
        dialog = ResolveDialog(conflict.actions, stations, loser.start, loser.end, self.staff.tz)
        self.app.push_screen(dialog, lambda choice: self._resolve(conflict.id, choice))

    def _resolve(self, conflict_id: str, choice: ConflictResolve | None) -> None:
        if choice is not None:
            self.resolve(conflict_id, choice)

    @work(exclusive=True, group="resolve")
    async def resolve(self, conflict_id: str, choice: ConflictResolve) -> None:
        staff = self.staff
        if await staff.call(staff.edge.resolve_conflict(conflict_id, choice)) is not None:
            await self.load()
