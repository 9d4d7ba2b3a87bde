"""A month calendar to pick a day with the keyboard (arrows, Page Up/Down, Home, Enter)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def shift_month(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class MonthCalendar(Widget, can_focus=True):
    """The month of ``value``, weeks from Monday; ``today`` is marked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Day before", show=False),
        Binding("right", "move(1)", "Day after", show=False),
        Binding("up", "move(-7)", "Week before", show=False),
        Binding("down", "move(7)", "Week after", show=False),
        Binding("pageup", "month(-1)", "Month before"),
        Binding("pagedown", "month(1)", "Month after"),
        Binding("home", "today", "Today"),
        Binding("enter", "pick", "Pick"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "calendar--title",
        "calendar--weekday",
        "calendar--selected",
        "calendar--today",
    }

    class Picked(Message):
        def __init__(self, day: date) -> None:
            super().__init__()
            self.day = day

    def __init__(self, value: date, today: date, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.value = value
        self.today = today

    def action_move(self, days: int) -> None:
        self.value += timedelta(days=days)
        self.refresh()

    def action_month(self, months: int) -> None:
        self.value = shift_month(self.value, months)
        self.refresh()

    def action_today(self) -> None:
        self.value = self.today
        self.refresh()

    def action_pick(self) -> None:
        self.post_message(self.Picked(self.value))

    def get_content_width(self, container: object, viewport: object) -> int:
        return 20

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return 8

    def render(self) -> Text:
        title = f"{MONTH_NAMES[self.value.month - 1]} {self.value.year}".center(20)
        lines = [
            Text(title, self.get_component_rich_style("calendar--title")),
            Text("Mo Tu We Th Fr Sa Su", self.get_component_rich_style("calendar--weekday")),
        ]
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(
            self.value.year, self.value.month
        )
        for week in weeks:
            lines.append(self._week(week))
        return Text("\n").join(lines)

    def _week(self, week: list[date]) -> Text:
        line = Text()
        for index, day in enumerate(week):
            if index:
                line.append(" ")
            if day.month != self.value.month:
                line.append("  ")
                continue
            style = ""
            if day == self.today:
                style = str(self.get_component_rich_style("calendar--today"))
            if day == self.value:
                style = str(self.get_component_rich_style("calendar--selected"))
            line.append(f"{day.day:2d}", style)
        return line
