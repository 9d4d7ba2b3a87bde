"""The day's timeline: one lane per station, bookings as coloured bars, a now-line, a cursor.

Arrow keys move between bookings (left/right in a lane, up/down across lanes), Enter opens the
selected one. Colours per status and for the now-line are component classes in the ``.tcss``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from sync.shapes.bookings import BookingOut
from tui import schedule
from tui.display import truncate
from tui.schedule import Cursor, Lane, Window

LABEL_WIDTH = 16
NOW_MARK = "│"
STATUSES = ("hold", "confirmed", "checked_in", "checked_out", "no_show", "conflict")


class Timeline(Widget, can_focus=True):
    """Bookings per resource across the day's window, in the site's zone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Earlier", show=False),
        Binding("right", "step(1)", "Later", show=False),
        Binding("up", "lane(-1)", "Station above", show=False),
        Binding("down", "lane(1)", "Station below", show=False),
        Binding("enter", "open", "Open booking"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--label",
        "timeline--axis",
        "timeline--grid",
        "timeline--now",
        "timeline--selected",
        *(f"timeline--{status}" for status in STATUSES),
    }

    class Selected(Message):
        """The cursor moved to ``booking`` (None: an empty lane, or no bookings at all)."""

        def __init__(self, booking: BookingOut | None) -> None:
            super().__init__()
            self.booking = booking

    class Opened(Message):
        """Enter was pressed on ``booking``."""

        def __init__(self, booking: BookingOut) -> None:
            super().__init__()
            self.booking = booking

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lanes: list[Lane] = []
        self.window: Window | None = None
        self.now: datetime | None = None
        self.names: Mapping[str, str] = {}
        self.cursor = Cursor()

    def show(
        self,
        lanes: Sequence[Lane],
        window: Window,
        now: datetime,
        names: Mapping[str, str],
        keep: str | None = None,
    ) -> None:
        """Draw a day; the cursor stays on booking ``keep`` if shown, else goes to now."""
        self.lanes, self.window, self.now, self.names = list(lanes), window, now, names
        kept = schedule.cursor_for(self.lanes, keep) if keep else None
        self.cursor = kept or schedule.first_cursor(self.lanes, now)
        self.refresh(layout=True)
        self.post_message(self.Selected(self.selected))

    @property
    def selected(self) -> BookingOut | None:
        return schedule.selected(self.lanes, self.cursor)

    def select(self, booking_id: str) -> None:
        if (found := schedule.cursor_for(self.lanes, booking_id)) is not None:
            self._move_to(found)

    def action_step(self, delta: int) -> None:
        self._move_to(schedule.step_sideways(self.lanes, self.cursor, delta))

    def action_lane(self, delta: int) -> None:
        self._move_to(schedule.step_lanes(self.lanes, self.cursor, delta))

    def action_open(self) -> None:
        if (booking := self.selected) is not None:
            self.post_message(self.Opened(booking))

    def _move_to(self, cursor: Cursor) -> None:
        if cursor != self.cursor:
            self.cursor = cursor
            self.refresh()
            self.post_message(self.Selected(self.selected))

    # --- drawing ------------------------------------------------------------------------------

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(2, len(self.lanes) + 1)

    def render(self) -> Text:
        if self.window is None:
            return Text("")
        width = max(8, self.size.width - LABEL_WIDTH)
        lines = [self._axis(self.window, width)]
        if not self.lanes:
            lines.append(Text("no stations yet", self._style("label")))
        for index, lane in enumerate(self.lanes):
            lines.append(self._lane(index, lane, self.window, width))
        return Text("\n").join(lines)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"timeline--{name}")

    def _now_cell(self, window: Window, width: int) -> int | None:
        return schedule.cell_of(window, width, self.now) if self.now else None

    def _axis(self, window: Window, width: int) -> Text:
        cells = [" "] * width
        for cell, label in schedule.hour_marks(window, width):
            cells[cell : cell + len(label)] = list(label)
        axis = Text(" " * LABEL_WIDTH + "".join(cells), self._style("axis"))
        if (now_cell := self._now_cell(window, width)) is not None:
            axis.stylize(self._style("now"), LABEL_WIDTH + now_cell, LABEL_WIDTH + now_cell + 1)
        return axis

    def _lane(self, index: int, lane: Lane, window: Window, width: int) -> Text:
        label = truncate(lane.resource.name, LABEL_WIDTH - 1).ljust(LABEL_WIDTH)
        cells = self._cells(index, lane, window, width)
        if (now_cell := self._now_cell(window, width)) is not None:
            _, style = cells[now_cell]
            cells[now_cell] = (NOW_MARK, style + self._style("now"))
        line = Text(label, self._style("label"))
        for char, style in cells:
            line.append(char, style)
        return line

    def _cells(self, index: int, lane: Lane, window: Window, width: int) -> list[tuple[str, Style]]:
        """Each cell's character and style: bars with the renter's name, else the hour grid."""
        painted = schedule.paint(lane, window, width)
        marks = {cell for cell, _ in schedule.hour_marks(window, width)}
        cells: list[tuple[str, Style]] = []
        cell = 0
        while cell < width:
            item, end = painted[cell], cell + 1
            while end < width and painted[end] == item:
                end += 1
            if item is None:
                grid = self._style("grid")
                cells.extend(("·" if c in marks else " ", grid) for c in range(cell, end))
            else:
                cells.extend(self._bar(index, item, lane.bookings[item], end - cell))
            cell = end
        return cells

    def _bar(
        self, lane_index: int, item: int, booking: BookingOut, length: int
    ) -> list[tuple[str, Style]]:
        name = self.names.get(booking.renter_id, booking.renter_id[:8])
        style = self._style(booking.status if booking.status in STATUSES else "confirmed")
        if self.cursor == Cursor(lane_index, item):
            style += self._style("selected")
        return [(char, style) for char in truncate(name, length).ljust(length)]
