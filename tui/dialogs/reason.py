"""Ask a host for the reason of an override; returns the reason, or None if cancelled."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

MIN_REASON, MAX_REASON = 3, 500


class ReasonDialog(ModalScreen[str | None]):
    """A prompt and one line of text; Enter submits (3 to 500 characters), Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, markup=False, id="dialog-title")
            yield Static(self.prompt, markup=False, id="dialog-message")
            yield Input(placeholder="reason", max_length=MAX_REASON, id="reason")
            yield Static("", id="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if len(reason) < MIN_REASON:
            self.query_one("#dialog-hint", Static).update(
                f"Give a reason of at least {MIN_REASON} characters, or Escape to cancel."
            )
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
