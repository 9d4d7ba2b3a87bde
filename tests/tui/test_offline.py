"""An edge that goes away: a banner with the retry, no crash, and back to normal when it returns."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.tui.driving import screen_text, settle, sign_in
from tests.tui.fixtures import STAFF, Kitchen, Terminal
from tui.dialogs.message import MessageDialog
from tui.screens.today import TodayScreen
from tui.widgets.banner import EdgeBanner


class Cable:
    """The edge's client behind a cable that can be pulled out."""

    def __init__(self, inner: AsyncTestClient[Litestar]) -> None:
        self.inner = inner
        self.plugged = True

    @property
    def base_url(self) -> httpx.URL:
        return self.inner.base_url

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if not self.plugged:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return await self.inner.request(method, url, **kwargs)


async def test_a_lost_edge_shows_a_banner_and_the_terminal_recovers(
    kitchen: Kitchen, terminal: Terminal, client: AsyncTestClient[Litestar]
) -> None:
    cable = Cable(client)
    app = terminal(cable)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, STAFF)
        banner = app.screen.query_one(EdgeBanner)
        assert not banner.display

        cable.plugged = False
        await pilot.press("r")  # what the status timer does every few seconds
        await settle(pilot)
        assert banner.display
        text = screen_text(pilot)
        assert "EDGE UNREACHABLE since 08:00" in text
        assert "Retrying every 3600 s" in text
        assert isinstance(app.screen, TodayScreen)  # no dialog, no crash

        await pilot.press("enter")  # opening a booking while the edge is away
        await settle(pilot)
        assert not isinstance(app.screen, MessageDialog)
        await pilot.press("escape")
        await settle(pilot)

        cable.plugged = True
        await pilot.press("r")
        await settle(pilot)
        assert not app.screen.query_one(EdgeBanner).display
        assert "EDGE UNREACHABLE" not in screen_text(pilot)


async def test_the_sign_in_screen_shows_the_banner_too(
    kitchen: Kitchen, terminal: Terminal, client: AsyncTestClient[Litestar]
) -> None:
    cable = Cable(client)
    cable.plugged = False
    app = terminal(cable)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, STAFF)
        text = screen_text(pilot)
        assert "EDGE UNREACHABLE since 16:00 UTC" in text  # the site's zone is not known yet
        assert "Edge unreachable: No answer from" in text
