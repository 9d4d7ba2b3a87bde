"""``hub.db.Database``: read transactions are read-only; write transactions commit or roll back."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from hub.db import Database
from hub.tables import Site
from tests.hub.conftest import add_site


async def test_a_read_transaction_refuses_writes(hub_db: Database) -> None:
    with pytest.raises(DBAPIError, match="read-only transaction"):
        async with hub_db.read() as session:
            session.add(Site(id="s", name="n", updated_hlc="0"))
            await session.flush()


async def test_a_write_commits_on_success_and_rolls_back_on_error(hub_db: Database) -> None:
    await add_site(hub_db, "kept")
    with pytest.raises(RuntimeError):
        async with hub_db.write() as session:
            session.add(Site(id="lost", name="n", updated_hlc="0"))
            await session.flush()
            raise RuntimeError("boom")
    async with hub_db.read() as session:
        assert await session.get(Site, "kept") is not None
        assert await session.get(Site, "lost") is None


async def test_a_stricter_isolation_level_can_be_asked_for(hub_db: Database) -> None:
    async with hub_db.write("SERIALIZABLE") as session:
        level = await (await session.connection()).exec_driver_sql("SHOW transaction_isolation")
        assert level.scalar_one() == "serializable"
