"""Pick a day on a month calendar; returns the day, or None if cancelled."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.widgets.calendar import MonthCalendar


class DatePickerDialog(ModalScreen[date | None]):
    """A month calendar around ``shown``; Enter picks, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, shown: date, today: date) -> None:
        super().__init__()
        self.shown = shown
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Go to day", id="dialog-title")
            yield MonthCalendar(self.shown, self.today, id="calendar")
            yield Static(
                "arrows move · PgUp/PgDn month · Home today · Enter picks", id="dialog-hint"
            )

    def on_mount(self) -> None:
        self.query_one(MonthCalendar).focus()

    def on_month_calendar_picked(self, event: MonthCalendar.Picked) -> None:
        self.dismiss(event.day)

    def action_cancel(self) -> None:
        self.dismiss(None)
