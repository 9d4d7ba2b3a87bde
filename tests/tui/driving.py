"""Driving the terminal in tests: wait for its workers, type, sign in, read the screen."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input

from tests.edge.conftest import PASSWORD

SETTLE_ROUNDS = 4


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages, screen changes and the workers they start run to the end."""
    for _ in range(SETTLE_ROUNDS):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key into the focused widget."""
    await pilot.press(*text)


async def fill(pilot: Pilot[Any], text: str, field_id: str | None = None) -> None:
    """Put ``text`` into an input at once, as a paste would (typing is a key at a time).

    The input is the focused one, or the one with ``field_id``, which then gets the focus.
    """
    if field_id is not None:
        pilot.app.screen.query_one(f"#{field_id}", Input).focus()
        await pilot.pause()
    field = pilot.app.focused
    assert isinstance(field, Input), f"focus is on {field!r}, not an input"
    field.value = text
    field.cursor_position = len(text)
    await pilot.pause()


async def sign_in(pilot: Pilot[Any], username: str, password: str = PASSWORD) -> None:
    """Type the username, Enter, the password, Enter; wait until the first screen is drawn."""
    await settle(pilot)
    await type_text(pilot, username)
    await pilot.press("enter")
    await fill(pilot, password)
    await pilot.press("enter")
    await settle(pilot)


def screen_text(pilot: Pilot[Any]) -> str:
    """What the terminal shows, as plain text (one line per row, trailing blanks removed)."""
    app = pilot.app
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    # The same rendering App.export_screenshot draws (as SVG); here kept as text.
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console.print(update)
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"
