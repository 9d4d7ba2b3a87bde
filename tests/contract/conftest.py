# ruff: noqa: F811 - fixtures imported from the hub and edge suites are parameters here
"""Fixtures for edge <-> hub sync in process: a hub on PostgreSQL and an enrolled edge.

The edge's hub link runs over ``httpx.ASGITransport`` into the hub app (its lifespan held open
by an ``AsyncTestClient``), so every request is signed, encoded and routed exactly as over the
network. One ``FixedClock`` drives both, so signatures and HLC stamps agree on the time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar

from edge.app import create_app as create_edge
from edge.clock import FixedClock
from edge.enrollment import enroll
from edge.services import EdgeServices
from edge.settings import EdgeSettings
from edge.sync_runner import RoundReport, SyncRunner
from hub.app import create_app as create_hub
from hub.db import Database
from hub.enrollment import issue_token
from hub.settings import HubSettings
from tests.edge.conftest import PASSWORD, START, node, template_node  # noqa: F401 - fixtures
from tests.hub.conftest import (  # noqa: F401 - fixtures
    clean_database,
    hub_database_url,
    hub_db,
    hub_settings,
    pg_server,
    refdb_key,
)

HUB_URL = "http://hub.test"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def edge_settings(node: tuple[object, object]) -> EdgeSettings:
    return EdgeSettings.load(node[0], jobs={"enabled": False})  # type: ignore[arg-type]


@dataclass
class Pair:
    """A hub and one enrolled edge, both running."""

    hub: Litestar
    hub_client: httpx.AsyncClient
    hub_db: Database
    edge: Litestar
    edge_client: httpx.AsyncClient
    transport: httpx.ASGITransport
    clock: FixedClock

    @property
    def services(self) -> EdgeServices:
        services: EdgeServices = self.edge.state.services
        return services

    @property
    def runner(self) -> SyncRunner:
        runner: SyncRunner = self.edge.state.sync_runner
        return runner

    async def sync(self) -> RoundReport:
        return await self.runner.run_once()


PairFactory = Callable[[], AbstractAsyncContextManager[Pair]]


@pytest.fixture
def make_pair(
    hub_settings: HubSettings, hub_db: Database, edge_settings: EdgeSettings, clock: FixedClock
) -> PairFactory:
    """``async with make_pair() as pair:`` inside the test (lifespans stay in one task)."""

    @asynccontextmanager
    async def running() -> AsyncIterator[Pair]:
        hub = create_hub(hub_settings, clock=clock)  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=hub)  # type: ignore[arg-type]
        edge = create_edge(edge_settings, clock=clock, hub_transport=transport)
        async with (
            hub.lifespan(),
            edge.lifespan(),
            httpx.AsyncClient(transport=transport, base_url=HUB_URL) as hub_client,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=edge),  # type: ignore[arg-type]
                base_url="http://edge.test",
            ) as edge_client,
        ):
            async with hub_db.write() as session:
                issued = await issue_token(
                    session, "Mission Kitchen", clock.now(), timedelta(hours=1)
                )
            await enroll(edge.state.services, HUB_URL, issued.token, transport)
            yield Pair(hub, hub_client, hub_db, edge, edge_client, transport, clock)

    return running
