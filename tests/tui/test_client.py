"""The terminal's HTTP client against the real edge: sign-in, refresh, errors with titles."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.clock import FixedClock
from tests.edge.conftest import PASSWORD
from tests.tui.fixtures import STAFF, Kitchen
from tui.client import EdgeClient
from tui.errors import EdgeRefusal, EdgeUnreachable, SessionExpired

Client = AsyncTestClient[Litestar]


class CountingClient:
    """The edge's test client, counting refresh requests."""

    def __init__(self, inner: Client) -> None:
        self.inner = inner
        self.refreshes = 0

    @property
    def base_url(self) -> httpx.URL:
        return self.inner.base_url

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if url.endswith("/auth/refresh"):
            self.refreshes += 1
        return await self.inner.request(method, url, **kwargs)


class RefusingTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


async def test_sign_in_then_read_the_site(client: Client, clock: FixedClock, kitchen: Kitchen):
    edge = EdgeClient(client, clock.now)
    session = await edge.login(STAFF, PASSWORD)
    assert (session.username, session.must_change_password) == (STAFF, False)
    assert (await edge.site()).name == "Mission Kitchen"
    assert {r.name for r in await edge.renters()} == {"Artisan Bakery", "Startup Foods"}


async def test_a_wrong_password_is_a_refusal_with_a_title(
    client: Client, clock: FixedClock, kitchen: Kitchen
) -> None:
    edge = EdgeClient(client, clock.now)
    with pytest.raises(EdgeRefusal) as refused:
        await edge.login(STAFF, "not the password")
    assert (refused.value.status, refused.value.title) == (401, "Sign-in failed")
    assert edge.session is None


async def test_an_expired_access_token_is_refreshed_once_for_concurrent_calls(
    client: Client, clock: FixedClock, kitchen: Kitchen
) -> None:
    counting = CountingClient(client)
    edge = EdgeClient(counting, clock.now)
    first = await edge.login(STAFF, PASSWORD)
    clock.advance(minutes=20)
    statuses = await asyncio.gather(*(edge.sync_status() for _ in range(3)))
    assert len(statuses) == 3
    assert counting.refreshes == 1  # a refresh token works once: a second use would sign out
    assert edge.session is not None and edge.session.refresh_token != first.refresh_token


async def test_an_expired_refresh_token_ends_the_session(
    client: Client, clock: FixedClock, kitchen: Kitchen
) -> None:
    edge = EdgeClient(client, clock.now)
    await edge.login(STAFF, PASSWORD)
    clock.advance(days=8)
    with pytest.raises(SessionExpired):
        await edge.sync_status()
    assert edge.session is None


async def test_an_edge_that_does_not_answer_is_unreachable(clock: FixedClock) -> None:
    async with httpx.AsyncClient(
        base_url="http://127.0.0.1:9", transport=RefusingTransport()
    ) as http:
        edge = EdgeClient(http, clock.now)
        with pytest.raises(EdgeUnreachable) as unreachable:
            await edge.reference()
    assert unreachable.value.title == "Edge unreachable"
    assert "http://127.0.0.1:9" in unreachable.value.message


async def test_the_edge_error_body_keeps_code_and_details(
    client: Client, clock: FixedClock, kitchen: Kitchen
) -> None:
    edge = EdgeClient(client, clock.now)
    await edge.login(STAFF, PASSWORD)
    with pytest.raises(EdgeRefusal) as refused:
        await edge.check_in(kitchen.deny_booking)
    assert (refused.value.status, refused.value.code) == (412, "compliance_denied")
    assert refused.value.title == "Check-in refused"
    assert refused.value.details["verdict"]["result"] == "DENY"


async def test_calls_without_a_session_ask_for_sign_in(client: Client, clock: FixedClock) -> None:
    with pytest.raises(SessionExpired):
        await EdgeClient(client, clock.now).bookings(clock.now(), clock.now())
