"""The help screen: every key of the screen it was opened from, with what it does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def binding_rows(bindings: Mapping[str, ActiveBinding]) -> list[tuple[str, str]]:
    """(keys, description) per action, keys joined (``t / F2``), in the order first bound."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for key, active in bindings.items():
        binding = active.binding
        if not binding.description or _built_in(active):
            continue
        grouped.setdefault((binding.action, binding.description), []).append(key)
    return [(" / ".join(keys), description) for (_, description), keys in grouped.items()]


def _built_in(active: ActiveBinding) -> bool:
    """Keys of Textual's own widgets (cursor moves in a table, and so on) go without saying."""
    return type(active.node).__module__.startswith("textual.")


class HelpScreen(ModalScreen[None]):
    """A table of keys; Escape, Enter or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,question_mark,f1", "close", "Close"),
    ]

    def __init__(self, bindings: Mapping[str, ActiveBinding]) -> None:
        super().__init__()
        self.rows = binding_rows(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Keys", id="dialog-title")
            table: DataTable[str] = DataTable(id="help-keys", cursor_type="row")
            table.add_columns("key", "what it does")
            for keys, description in self.rows:
                table.add_row(self._pretty(keys), description)
            yield table
            yield Static("Escape closes this list.", id="dialog-hint")

    def _pretty(self, keys: str) -> str:
        return " / ".join(self.app.get_key_display(Binding(key, "")) for key in keys.split(" / "))

    def action_close(self) -> None:
        self.dismiss(None)
