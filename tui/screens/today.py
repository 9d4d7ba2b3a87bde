"""Today: the day's bookings per station on a timeline with a now-line, and the day's list.

Arrows move between bookings, Enter opens one, ``g`` picks another day on a calendar, ``[`` and
``]`` step a day, ``n`` comes back to today.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from sync.shapes.bookings import BookingOut
from tui import schedule
from tui.dialogs.date_picker import DatePickerDialog
from tui.display import booking_code, long_day, money, span, status_label
from tui.screens.base import StaffScreen
from tui.screens.booking import BookingScreen
from tui.widgets.timeline import Timeline


class TodayScreen(StaffScreen):
    """The schedule of one day (today unless another is picked)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "pick_day", "Go to day"),
        Binding("left_square_bracket", "shift_day(-1)", "Day before"),
        Binding("right_square_bracket", "shift_day(1)", "Day after"),
        Binding("n", "today", "Back to today", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None
        self.bookings: list[BookingOut] = []

    def body(self) -> ComposeResult:
        yield Static("", id="day-title", markup=False)
        yield Timeline(id="timeline")
        yield Static("", id="booking-line", markup=False)
        agenda: DataTable[str] = DataTable(id="agenda", cursor_type="row", zebra_stripes=True)
        agenda.can_focus = False
        yield agenda

    def on_mount(self) -> None:
        super().on_mount()
        agenda = self.query_one("#agenda", DataTable)
        agenda.add_columns("time", "station", "renter", "status", "code")
        self.query_one(Timeline).focus()

    def on_tick(self) -> None:
        """Keep the schedule current: bookings that arrived by sync, the now-line moving on."""
        self.reload()

    @property
    def shown_day(self) -> date:
        return self.day or self.staff.now().astimezone(self.staff.tz).date()

    async def load(self) -> None:
        staff, day = self.staff, self.shown_day
        start, end = schedule.day_bounds(day, staff.tz)
        bookings = await staff.call(staff.edge.bookings(start, end))
        if bookings is None:
            return
        self.bookings = bookings
        self._draw(day)

    def _draw(self, day: date) -> None:
        staff, tz = self.staff, self.staff.tz
        lanes = schedule.lanes(staff.directory.resources, self.bookings)
        shown = [b for lane in lanes for b in lane.bookings]
        cancelled = len(self.bookings) - len(shown)
        is_today = day == staff.now().astimezone(tz).date()
        title = f"{'Today' if is_today else 'Day'} · {long_day(day)} · {len(shown)} bookings"
        if cancelled:
            title += f" ({cancelled} cancelled)"
        self.query_one("#day-title", Static).update(f"{title} · {tz.key}")
        timeline = self.query_one(Timeline)
        keep = timeline.selected.id if timeline.selected else None
        window = schedule.day_window(day, tz, shown)
        names = staff.directory.renter_names()
        timeline.show(lanes, window, staff.now(), names, keep=keep)
        self._fill_agenda(sorted(shown, key=lambda b: (b.start, b.resource_id)))

    def _fill_agenda(self, bookings: list[BookingOut]) -> None:
        agenda = self.query_one("#agenda", DataTable)
        agenda.clear()
        directory, tz = self.staff.directory, self.staff.tz
        for booking in bookings:
            agenda.add_row(
                span(booking.start, booking.end, tz),
                directory.resource_name(booking.resource_id),
                directory.renter_name(booking.renter_id),
                status_label(booking.status),
                booking_code(booking.id),
                key=booking.id,
            )
        self._sync_agenda(self.query_one(Timeline).selected)

    @on(Timeline.Selected)
    def _selected(self, event: Timeline.Selected) -> None:
        self._sync_agenda(event.booking)

    def _sync_agenda(self, booking: BookingOut | None) -> None:
        line = self.query_one("#booking-line", Static)
        if booking is None:
            line.update("No booking selected." if self.bookings else "No bookings this day.")
            return
        directory = self.staff.directory
        line.update(
            f"{directory.renter_name(booking.renter_id)} · "
            f"{directory.resource_name(booking.resource_id)} · "
            f"{span(booking.start, booking.end, self.staff.tz)} · "
            f"{status_label(booking.status)} · {money(booking.price_cents)} · "
            f"code {booking_code(booking.id)}"
        )
        agenda = self.query_one("#agenda", DataTable)
        if booking.id in agenda.rows:
            agenda.move_cursor(row=agenda.get_row_index(booking.id))

    @on(Timeline.Opened)
    def _opened(self, event: Timeline.Opened) -> None:
        self.app.push_screen(BookingScreen(event.booking.id))

    def action_pick_day(self) -> None:
        today = self.staff.now().astimezone(self.staff.tz).date()
        self.app.push_screen(DatePickerDialog(self.shown_day, today), self._go_to)

    def _go_to(self, day: date | None) -> None:
        if day is not None:
            self.day = day
            self.reload()

    def action_shift_day(self, days: int) -> None:
        self._go_to(self.shown_day + timedelta(days=days))

    def action_today(self) -> None:
        self.day = None
        self.reload()
