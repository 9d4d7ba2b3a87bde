"""The edge while the hub is away or busy: it keeps serving, backs off with jitter, and says so."""

from __future__ import annotations

import random

import httpx

from edge.sync_runner import backoff_seconds
from tests.contract.conftest import PairFactory
from tests.contract.helpers import book, set_up_edge


class Unplugged(httpx.AsyncBaseTransport):
    """A network cable pulled out: every request fails to connect."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


def test_back_off_doubles_to_the_ceiling_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, 5, 300, rng) for n in range(12)]
    assert delays[0] == 5
    for failures, delay in enumerate(delays[1:], start=1):
        full = min(300, 5 * 2**failures)
        assert full / 2 <= delay <= full  # "equal jitter": never less than half the step
    assert len({round(d, 6) for d in delays[7:]}) > 1  # a fleet does not retry in lockstep


async def test_an_unreachable_hub_leaves_the_edge_serving_and_reported_offline(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        assert (await pair.sync()).outcome == "ok"
        pair.runner.transport = Unplugged()
        first = await pair.sync()
        booked = await book(pair.edge_client, site, "2025-11-06T10:00:00", "2025-11-06T12:00:00")
        second = await pair.sync()
        status = (await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)).json()
        assert first.outcome == second.outcome == "offline" and booked["status"] == "confirmed"
        assert status["online"] is False and status["offline_since"] is not None
        assert status["outbox_depth"] > 0 and status["oldest_unsent_at"] is not None
        assert pair.runner.next_due is not None and pair.runner.next_due > pair.clock.now()
        pair.runner.transport = pair.transport  # the cable is back
        back = await pair.sync()
        status = (await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)).json()
        assert back.outcome == "ok" and status["online"] is True
        assert status["offline_since"] is None and status["outbox_depth"] == 0


async def test_a_busy_hub_answers_429_with_retry_after(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        await set_up_edge(pair.edge, pair.edge_client)
        slots = pair.hub.state.services.push_slots
        taken = 0
        while not slots.locked():
            await slots.acquire()
            taken += 1
        try:
            report = await pair.sync()
        finally:
            for _ in range(taken):
                slots.release()
        assert report.outcome == "offline" and "busy" in (report.error or "")
        assert report.retry_after_s == 1  # Retry-After, and the next round waits at least that
        assert pair.runner.next_due is not None
        assert (pair.runner.next_due - pair.clock.now()).total_seconds() >= 1
        assert (await pair.sync()).outcome == "ok"
