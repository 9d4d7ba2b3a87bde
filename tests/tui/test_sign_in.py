"""Signing in at the terminal, the signed-in user, and a session that renews and ends."""

from __future__ import annotations

from edge.clock import FixedClock
from tests.tui.driving import fill, screen_text, settle, sign_in, type_text
from tests.tui.fixtures import STAFF, Kitchen, Terminal
from tui.screens.login import LoginScreen
from tui.screens.today import TodayScreen
from tui.widgets.timeline import Timeline


async def test_signing_in_opens_today_and_shows_who_is_signed_in(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        await sign_in(pilot, STAFF)
        assert isinstance(app.screen, TodayScreen)
        text = screen_text(pilot)
        assert "signed in as door" in text
        assert "Artisan Bakery" in text and "Startup Foods" in text
        assert app.screen.query_one(Timeline).has_focus


async def test_a_wrong_password_says_why_and_stays_on_sign_in(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_text(pilot, STAFF)
        await pilot.press("enter")
        await fill(pilot, "not the password")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "Sign-in failed" in screen_text(pilot)


async def test_enter_on_an_empty_field_moves_on_instead_of_submitting(
    kitchen: Kitchen, terminal: Terminal
) -> None:
    app = terminal()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "username"
        assert app.edge.session is None


async def test_the_session_renews_itself_then_returns_to_sign_in_when_it_ends(
    kitchen: Kitchen, terminal: Terminal, clock: FixedClock
) -> None:
    app = terminal()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        first = app.edge.session
        clock.advance(minutes=20)  # the 15-minute access token has expired
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert app.edge.session is not None and app.edge.session != first
        clock.advance(days=8)  # and now the 7-day refresh token too
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "session has ended" in screen_text(pilot)
        await sign_in(pilot, STAFF)
        assert isinstance(app.screen, TodayScreen)
