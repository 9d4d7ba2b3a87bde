"""Choose how to resolve a booking conflict, among the actions the edge offers for it.

``cancel`` needs nothing more; ``move`` needs a station and a new start and end (local).
Returns the ``ConflictResolve`` to send, or None.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from sync.shapes.conflicts import ConflictResolve

ACTION_LABELS = {
    "cancel": "Cancel the set-aside booking (refunded)",
    "move": "Move it to this slot",
}
LOCAL_FORMAT = "%Y-%m-%d %H:%M"


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """``YYYY-MM-DD HH:MM`` in the site's zone."""
    try:
        return datetime.strptime(text.strip(), LOCAL_FORMAT).replace(tzinfo=tz)
    except ValueError:
        raise ValueError("Times are YYYY-MM-DD HH:MM.") from None


class ResolveDialog(ModalScreen[ConflictResolve | None]):
    """One button per offered action; moving asks for the new slot first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back")]

    def __init__(
        self,
        actions: list[str],
        stations: list[tuple[str, str]],
        start: datetime,
        end: datetime,
        tz: ZoneInfo,
    ) -> None:
        super().__init__()
        self.actions = actions
        self.stations = stations
        self.start, self.end, self.tz = start, end, tz

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Resolve the conflict", id="dialog-title")
            if "move" in self.actions:
                yield Select[str](self.stations, prompt="station", id="move-station")
                with Horizontal(id="move-times"):
                    yield Input(
                        self.start.astimezone(self.tz).strftime(LOCAL_FORMAT), id="move-start"
                    )
                    yield Input(self.end.astimezone(self.tz).strftime(LOCAL_FORMAT), id="move-end")
            for action in self.actions:
                yield Button(ACTION_LABELS.get(action, action), id=f"resolve-{action}")
            yield Static("", id="dialog-hint", markup=False)

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime(LOCAL_FORMAT)

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").removeprefix("resolve-")
        try:
            self.dismiss(self._resolution(action))
        except ValueError as problem:
            self.query_one("#dialog-hint", Static).update(str(problem))

    def _resolution(self, action: str) -> ConflictResolve:
        if action != "move":
            return ConflictResolve(action="cancel")
        station = self.query_one("#move-station", Select).value
        if not isinstance(station, str):
            raise ValueError("Pick the station to move the booking to.")
        start = parse_local(self.query_one("#move-start", Input).value, self.tz)
        end = parse_local(self.query_one("#move-end", Input).value, self.tz)
        try:
            return ConflictResolve(action="move", resource_id=station, start=start, end=end)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"]) from None

    def action_cancel(self) -> None:
        self.dismiss(None)
