"""Check-in: find today's booking by renter name or booking code, then open it.

Typing filters the list as you go; Enter opens the only match, or moves to the list, where
Enter opens the highlighted booking.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from sync.shapes.bookings import BookingOut
from tui import schedule
from tui.display import booking_code, matches_code, span, status_label
from tui.screens.base import StaffScreen
from tui.screens.booking import BookingScreen

DONE_STATUSES = frozenset({"cancelled"})


def find_bookings(bookings: list[BookingOut], query: str, renter_ids: set[str]) -> list[BookingOut]:
    """Bookings whose renter is in ``renter_ids`` or whose id contains the code ``query``."""
    if not query.strip():
        return bookings
    return [b for b in bookings if b.renter_id in renter_ids or matches_code(query, b.id)]


class CheckInScreen(StaffScreen):
    """Today's bookings, filtered by what is typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "Find"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.bookings: list[BookingOut] = []

    def body(self) -> ComposeResult:
        yield Static("Check-in · find a booking", id="screen-title")
        yield Input(placeholder="renter name or booking code", id="find")
        matches: DataTable[str] = DataTable(id="matches", cursor_type="row", zebra_stripes=True)
        yield matches
        yield Static("", id="find-hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#matches", DataTable).add_columns(
            "time", "renter", "station", "status", "code"
        )
        self.query_one("#find", Input).focus()

    async def load(self) -> None:
        staff = self.staff
        today = staff.now().astimezone(staff.tz).date()
        bookings = await staff.call(staff.edge.bookings(*schedule.day_bounds(today, staff.tz)))
        if bookings is not None:
            kept = [b for b in bookings if b.status not in DONE_STATUSES]
            self.bookings = sorted(kept, key=lambda b: (b.start, b.id))
            self._filter()

    @on(Input.Changed, "#find")
    def _filter(self) -> None:
        query = self.query_one("#find", Input).value
        found = find_bookings(self.bookings, query, self.staff.directory.renters_named(query))
        table = self.query_one("#matches", DataTable)
        table.clear()
        directory, tz = self.staff.directory, self.staff.tz
        for booking in found:
            table.add_row(
                span(booking.start, booking.end, tz),
                directory.renter_name(booking.renter_id),
                directory.resource_name(booking.resource_id),
                status_label(booking.status),
                booking_code(booking.id),
                key=booking.id,
            )
        hint = f"{len(found)} of {len(self.bookings)} bookings today"
        self.query_one("#find-hint", Static).update(hint)

    @on(Input.Submitted, "#find")
    def _submitted(self) -> None:
        table = self.query_one("#matches", DataTable)
        if table.row_count == 1:
            self._open(table)
        elif table.row_count:
            table.focus()

    @on(DataTable.RowSelected, "#matches")
    def _row_selected(self) -> None:
        self._open(self.query_one("#matches", DataTable))

    def _open(self, table: DataTable[str]) -> None:
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        if row_key.value is not None:
            self.app.push_screen(BookingScreen(row_key.value))

    def action_find(self) -> None:
        self.query_one("#find", Input).focus()
