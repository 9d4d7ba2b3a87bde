"""PostgreSQL access for the hub: one asyncpg engine per process, read and write transactions.

``Database.read()`` yields a session in a ``READ ONLY`` transaction (a stray write fails loudly);
``Database.write()`` yields one that commits on success and rolls back on any error, optionally
at a stricter isolation level. Nothing here is global: ``create_app`` and the CLI commands build
a ``Database`` from the settings and dispose of it when done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

Isolation = Literal["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]

APPLICATION_NAME = "prep-hub"
STATEMENT_TIMEOUT_MS = 30_000  # a runaway query is cut off rather than holding a connection


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine with a bounded pool and server-side timeouts."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a PostgreSQL restart costs one retry, not one failed request
        connect_args={
            "server_settings": {
                "application_name": APPLICATION_NAME,
                "statement_timeout": str(STATEMENT_TIMEOUT_MS),
                "TimeZone": "UTC",
            },
            "timeout": 10,
        },
    )


class Database:
    """The hub's database: one engine; sessions never outlive their transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.engine = make_engine(url, pool_size=pool_size)
        self._reader = self.engine.execution_options(postgresql_readonly=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session in a read-only transaction, closed (rolled back) at the end."""
        async with AsyncSession(self._reader, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self, isolation: Isolation | None = None) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends and rolls back on error."""
        engine = self.engine
        if isolation is not None:
            engine = engine.execution_options(isolation_level=isolation)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        """One round trip; raises if PostgreSQL does not answer."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
