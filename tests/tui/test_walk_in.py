"""Walk-ins: the price quote on a hold, confirming it, and the clash when the slot is taken."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from textual.pilot import Pilot
from textual.widgets import Select

from tests.edge.conftest import Login
from tests.tui.driving import fill, screen_text, settle, sign_in
from tests.tui.fixtures import STAFF, Kitchen, Terminal
from tui.screens.walkin import WalkInScreen


async def book_walk_in(pilot: Pilot[None], renter: str, station: str, start: str) -> None:
    """Fill the walk-in form (two hours) and press Enter in the hours field."""
    await pilot.press("w")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WalkInScreen)
    screen.query_one("#renter", Select).value = renter
    screen.query_one("#station", Select).value = station
    await fill(pilot, start, "start")
    await fill(pilot, "2", "hours")
    await pilot.press("enter")
    await settle(pilot)


async def test_a_taken_slot_shows_the_clashing_booking(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        seeded = kitchen.seeded
        await book_walk_in(pilot, seeded.renter_id, seeded.other_resource_id, "10:30")
        text = screen_text(pilot)
        assert "SLOT TAKEN" in text
        assert "Station 2 is booked 09:00-12:00 by Startup Foods (confirmed, code 222222)" in text
        assert app.screen.query_one("#walkin-result").has_class("-clash")
        assert not app.screen.query_one("#walkin-actions").display


async def test_a_free_slot_is_quoted_held_and_confirmed(
    kitchen: Kitchen, terminal: Terminal, client: AsyncTestClient[Litestar], login: Login
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        seeded = kitchen.seeded
        await book_walk_in(pilot, seeded.renter_id, seeded.other_resource_id, "15:00")
        text = screen_text(pilot)
        assert "Artisan Bakery · Station 2 · 15:00-17:00" in text
        assert "Station time" in text and "$60.00" in text
        assert "Commercial Rents Tax 3.5%" in text and "$2.10" in text
        assert "Total" in text and "$62.10" in text
        assert "Held until 08:15" in text
        await pilot.press("enter")  # the Confirm button has the focus
        await settle(pilot)
        assert "Booked: code" in screen_text(pilot)
    headers = await login()
    listed = await client.get("/api/v1/bookings", headers=headers)
    walk_ins = [b for b in listed.json() if b["local_start"].startswith("2025-11-05T15:00")]
    assert [b["status"] for b in walk_ins] == ["confirmed"]


async def test_releasing_the_hold_frees_the_slot(
    kitchen: Kitchen, terminal: Terminal, client: AsyncTestClient[Litestar], login: Login
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        seeded = kitchen.seeded
        await book_walk_in(pilot, seeded.renter_id, seeded.resource_id, "15:00")
        await pilot.press("tab", "enter")  # Release hold
        await settle(pilot)
        assert "Hold released" in screen_text(pilot)
    listed = await client.get("/api/v1/bookings", headers=await login())
    walk_ins = [b for b in listed.json() if b["local_start"].startswith("2025-11-05T15:00")]
    assert [b["status"] for b in walk_ins] == ["cancelled"]
