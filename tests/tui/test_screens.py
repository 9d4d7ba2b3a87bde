"""Documents, conflicts, audit, the inspector packet, the help screen and the date picker."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from textual.widgets import OptionList, Select

from tests.edge.conftest import Login
from tests.tui.driving import fill, screen_text, settle, sign_in
from tests.tui.fixtures import HOST, PDF, STAFF, Kitchen, Terminal, open_conflict
from tui.dialogs.document import DocumentDialog
from tui.dialogs.message import MessageDialog
from tui.dialogs.resolve import ResolveDialog
from tui.screens.help import HelpScreen


async def test_documents_show_expiry_badges_and_a_file_can_be_added(
    kitchen: Kitchen, terminal: Terminal, tmp_path: Path
) -> None:
    upload = tmp_path / "food handler card.pdf"
    upload.write_bytes(PDF)
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("d")
        await settle(pilot)
        text = screen_text(pilot)
        assert "fire permit" in text and "2025-11-25" in text and "20 DAYS" in text
        assert "health permit" in text and "ok" in text

        app.screen.query_one(OptionList).highlighted = 2  # Startup Foods
        await settle(pilot)
        assert "insurance coi" in screen_text(pilot) and "EXPIRED" in screen_text(pilot)

        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, DocumentDialog)
        await fill(pilot, str(upload), "doc-path")
        app.screen.query_one("#doc-kind", Select).value = "food_handler_card"
        await fill(pilot, "2026-01-31", "doc-expires")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot)
        assert "food handler card" in text and "2026-01-31" in text
        assert "2 documents" in text


async def test_a_document_path_that_is_not_a_file_is_refused_in_the_dialog(
    kitchen: Kitchen, terminal: Terminal, tmp_path: Path
) -> None:
    app = terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, str(tmp_path / "missing.pdf"), "doc-path")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DocumentDialog)
        assert "No file at" in screen_text(pilot)


async def test_a_conflict_shows_both_bookings_and_a_host_resolves_it(
    kitchen: Kitchen,
    terminal: Terminal,
    app: Litestar,
    client: AsyncTestClient[Litestar],
    login: Login,
) -> None:
    conflict_id = await open_conflict(app.state.services, kitchen)
    staff_app = terminal()
    async with staff_app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, HOST)
        assert "1 conflict" in screen_text(pilot)  # the status bar counts it
        await pilot.press("x")
        await settle(pilot)
        text = screen_text(pilot)
        assert "earliest_confirmation" not in text and "earlier_confirmation" in text
        assert "Startup Foods" in text and "Artisan Bakery" in text  # kept | set aside
        assert "Enter: resolve (cancel or move)" in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(staff_app.screen, ResolveDialog)
        await pilot.press("enter")  # the first action offered: cancel the set-aside booking
        await settle(pilot)
        assert "Resolved: cancelled" in screen_text(pilot)
    listed = await client.get("/api/v1/conflicts", headers=await login())
    assert [(c["id"], c["status"]) for c in listed.json()] == [(conflict_id, "resolved")]


async def test_audit_lists_recent_events_and_verifies_the_chain(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("a")
        await settle(pilot)
        text = screen_text(pilot)
        assert "booking.create" in text and "document.upload" in text
        await pilot.press("v")
        await settle(pilot)
        assert "Chain intact:" in screen_text(pilot)
        assert app.screen.query_one("#audit-result").has_class("-ok")


async def test_one_key_saves_the_inspector_packet(kitchen: Kitchen, terminal: Terminal) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, MessageDialog)
        assert app.screen.title_text == "Inspector packet saved"
    packet = app.packet_dir / "inspector-packet-2025-11-05.html"
    html = packet.read_text(encoding="utf-8")
    for expected in ("Mission Kitchen", "fire_permit", "Artisan Bakery", "Startup Foods"):
        assert expected in html
    assert '<td class="ALLOW">ALLOW</td>' in html and '<td class="DENY">DENY</td>' in html
    assert "booking.create" in html


async def test_the_help_screen_lists_the_keys_of_the_screen(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        descriptions = {description for _, description in app.screen.rows}
        assert {"Open booking", "Go to day", "Check-in", "Inspector packet", "Help"} <= descriptions
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_another_day_is_picked_on_the_calendar(kitchen: Kitchen, terminal: Terminal) -> None:
    app = terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("right", "enter")
        await settle(pilot)
        text = screen_text(pilot)
        assert "Day · Thu 6 Nov 2025 · 0 bookings" in text
        assert "No bookings this day." in text
        await pilot.press("n")
        await settle(pilot)
        assert "Today · Wed 5 Nov 2025 · 2 bookings" in screen_text(pilot)
