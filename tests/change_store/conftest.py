# ruff: noqa: F811 - fixtures imported from the hub and edge suites are parameters here
"""Fixtures for the change store contract: one side per backend, behind the same shape.

``side`` is parametrized over ``sqlite`` (a fresh copy of an initialised edge node, the store
handed out by ``Journal.write`` exactly as production writes get it) and ``postgresql`` (the hub
test database emptied, one site and one enrolled node). A ``StoreSide`` opens a write
transaction (commits when the block ends, rolls back on error) or a read transaction, each
yielding the side's ``ChangeStore``; ``own_origin`` is the origin of the changes it appends and
``peer`` an origin whose log it applies. PostgreSQL comes from ``tests/hub/conftest.py``: these
tests fail, never skip, without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.change_store import SqliteChangeStore
from edge.clock import epoch_ms
from edge.db import Database as EdgeDatabase
from edge.db import raw_connection
from edge.journal import SYSTEM, Journal
from edge.setup import InitResult
from hub.change_store import PostgresChangeStore
from hub.db import Database as HubDatabase
from hub.sync_feed import driver
from hub.tables import Node
from sync.change_store import HUB_ORIGIN, ChangeStore
from tests.edge.conftest import START, node, template_node  # noqa: F401 - fixtures
from tests.hub.conftest import (  # noqa: F401 - fixtures
    add_site,
    clean_database,
    hub_database_url,
    pg_server,
)

Transaction = Callable[[], AbstractAsyncContextManager[ChangeStore]]
HUB_NODE_ID = "node-contract-1"


@dataclass(frozen=True)
class StoreSide:
    """One backend's change store, as every contract test reaches it."""

    name: str
    own_origin: str
    peer: str
    writing: Transaction
    reading: Transaction


@pytest.fixture
async def sqlite_side(node: tuple[Path, InitResult]) -> AsyncIterator[StoreSide]:
    db = EdgeDatabase(node[0] / "edge.sqlite")
    journal = await Journal.open(db, lambda: epoch_ms(START))

    @asynccontextmanager
    async def writing() -> AsyncIterator[ChangeStore]:
        async with journal.write(SYSTEM, START) as tx:
            yield tx.changes

    @asynccontextmanager
    async def reading() -> AsyncIterator[ChangeStore]:
        async with db.read() as session:
            yield SqliteChangeStore.open(await raw_connection(session))

    try:
        yield StoreSide("sqlite", node[1].node_id, HUB_ORIGIN, writing, reading)
    finally:
        await db.dispose()


@pytest.fixture
async def postgresql_side(clean_database: str) -> AsyncIterator[StoreSide]:
    db = HubDatabase(clean_database, pool_size=4)
    site_id = await add_site(db)
    async with db.write() as session:
        session.add(Node(id=HUB_NODE_ID, site_id=site_id, name="Mission Kitchen",
                         public_key="unused", enrolled_at=START, high_water=0))  # fmt: skip

    @asynccontextmanager
    async def writing() -> AsyncIterator[ChangeStore]:
        async with db.write() as session:
            yield PostgresChangeStore(await driver(session), site_id)

    @asynccontextmanager
    async def reading() -> AsyncIterator[ChangeStore]:
        async with db.read() as session:
            yield PostgresChangeStore(await driver(session), site_id)

    try:
        yield StoreSide("postgresql", HUB_ORIGIN, HUB_NODE_ID, writing, reading)
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def side(request: pytest.FixtureRequest) -> StoreSide:
    """Each contract test runs once per backend."""
    chosen: StoreSide = request.getfixturevalue(f"{request.param}_side")
    return chosen
