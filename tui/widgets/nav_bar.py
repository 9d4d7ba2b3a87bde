"""The navigation bar under the header: each screen's key and name, the current one marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

EXTRA_KEYS = (("p", "Packet"), ("?", "Help"))


class NavBar(Static):
    """``t Today  c Check-in  ...  p Packet  ? Help`` with the current screen highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"nav-bar--key", "nav-bar--current"}

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def show(self, screens: Sequence[tuple[str, str, str]], current: str) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        entries = [(mode, keys.split(",")[0], label) for mode, keys, label in screens]
        entries += [("", key, label) for key, label in EXTRA_KEYS]
        for mode, key, label in entries:
            style = self.get_component_rich_style("nav-bar--current") if mode == current else ""
            line.append(f" {key}", self.get_component_rich_style("nav-bar--key"))
            line.append(f" {label} ", style)
        self.update(line)
