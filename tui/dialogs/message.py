"""A dialog with a title and a sentence: an edge error, or news such as "packet saved"."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class MessageDialog(ModalScreen[None]):
    """Title, message and an OK button; Enter or Escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close"),
    ]

    def __init__(self, title: str, message: str, *, error: bool = True) -> None:
        super().__init__(classes="-error" if error else "-info")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, markup=False, id="dialog-title")
            yield Static(self.message, markup=False, id="dialog-message")
            yield Button("OK", id="dialog-ok")

    def on_mount(self) -> None:
        self.query_one("#dialog-ok", Button).focus()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
