"""Check-in at the door: find the booking, read the verdict, check in, override, check out."""

from __future__ import annotations

import sqlite3

from litestar import Litestar
from textual.pilot import Pilot

from edge.settings import EdgeSettings
from tests.tui.driving import fill, screen_text, settle, sign_in
from tests.tui.fixtures import HOST, STAFF, Kitchen, Terminal
from tui.dialogs.message import MessageDialog
from tui.dialogs.reason import ReasonDialog
from tui.screens.booking import BookingScreen
from tui.widgets.verdict import VerdictPanel

REASON = "COI renewed this morning, paper copy seen"


def stored_check_in(settings: EdgeSettings, booking_id: str) -> tuple[str, str | None] | None:
    with sqlite3.connect(settings.database_path) as raw:
        row = raw.execute(
            "SELECT result, override_reason FROM check_in WHERE booking_id = ?", (booking_id,)
        ).fetchone()
    return None if row is None else (row[0], row[1])


async def open_booking(pilot: Pilot[None], query: str) -> BookingScreen:
    """Go to check-in, type ``query``, Enter: the only match opens."""
    await pilot.press("c")
    await settle(pilot)
    await fill(pilot, query, "find")
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BookingScreen), screen_text(pilot)
    return screen


async def test_a_compliant_renter_found_by_code_is_checked_in_and_out(
    kitchen: Kitchen, terminal: Terminal, settings: EdgeSettings
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        screen = await open_booking(pilot, "111111")
        panel = screen.query_one(VerdictPanel)
        assert panel.has_class("-allow")
        assert "ALLOW - may check in" in screen_text(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert "Checked in at 08:00 (ALLOW)" in screen_text(pilot)
        assert "CHECKED IN" in screen_text(pilot)
        assert stored_check_in(settings, kitchen.allow_booking) == ("ALLOW", None)
        await pilot.press("o")
        await settle(pilot)
        assert "Checked out at 08:00" in screen_text(pilot)
        assert "CHECKED OUT" in screen_text(pilot)


async def test_a_denied_renter_shows_every_reason_and_a_host_overrides_with_one(
    kitchen: Kitchen, terminal: Terminal, settings: EdgeSettings, app: Litestar
) -> None:
    terminal_app = terminal()
    async with terminal_app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, HOST)
        screen = await open_booking(pilot, "startup")
        panel = screen.query_one(VerdictPanel)
        assert panel.has_class("-deny") and panel.verdict is not None
        text = screen_text(pilot)
        assert "DENY - check-in refused" in text
        first = panel.verdict.violations[0]
        assert first.message[:40] in text
        assert f"Remedy: {first.remedy}"[:40] in text
        assert f"Citation: {first.citation}" in text

        await pilot.press("i")  # refused: a dialog says so, nothing is stored
        await settle(pilot)
        dialog = terminal_app.screen
        assert isinstance(dialog, MessageDialog) and dialog.title_text == "Check-in refused"
        assert stored_check_in(settings, kitchen.deny_booking) is None
        await pilot.press("escape")

        await pilot.press("h")
        await settle(pilot)
        assert isinstance(terminal_app.screen, ReasonDialog)
        await fill(pilot, REASON, "reason")
        await pilot.press("enter")
        await settle(pilot)
        assert f"host override: {REASON}" in screen_text(pilot)
        assert stored_check_in(settings, kitchen.deny_booking) == ("DENY", REASON)


async def test_staff_may_not_override_and_are_told_so(
    kitchen: Kitchen, terminal: Terminal, settings: EdgeSettings
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        await open_booking(pilot, "startup")
        await pilot.press("h")
        await settle(pilot)
        await fill(pilot, REASON, "reason")
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MessageDialog) and dialog.title_text == "Not allowed"
        assert "only a host may override" in screen_text(pilot)
        assert stored_check_in(settings, kitchen.deny_booking) is None


async def test_an_impossible_move_is_a_dialog_not_a_crash(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, STAFF)
        await open_booking(pilot, "111111")
        await pilot.press("o")  # check out a booking that never checked in
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MessageDialog) and dialog.title_text == "Not possible now"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BookingScreen)
