"""SQLite access for the edge: WAL, foreign keys, one writer, ``BEGIN IMMEDIATE`` for writes.

``Database.read()`` yields a session on a snapshot (deferred ``BEGIN``); ``Database.write()``
yields one on the single writer connection, serialised by an asyncio lock and opened with
``BEGIN IMMEDIATE`` so a write never upgrades a read lock halfway and never waits on another
process's half-done transaction. Commit on success, roll back on any error.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.sqlite_inline import InlineConnection, inline_creator

BUSY_TIMEOUT_MS = 5000
CHECKPOINT_SECONDS = 2.0


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
        "PRAGMA synchronous=FULL",  # an acknowledged booking survives power loss, not just a crash
    ):
        cursor.execute(pragma)
    cursor.close()


def _writer_pragmas(dbapi_connection: Any, record: Any) -> None:
    _pragmas(dbapi_connection, record)
    # Checkpoints run beside the writer (``Database.checkpoints``), not inside a request's
    # commit: an automatic checkpoint would make some unlucky booking wait for it.
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def make_engine(path: Path, *, immediate: bool) -> AsyncEngine:
    """An engine whose transactions start with ``BEGIN IMMEDIATE`` (writer) or ``BEGIN``."""
    pool = {"pool_size": 1, "max_overflow": 0} if immediate else {"pool_size": 4, "max_overflow": 4}
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}", async_creator=inline_creator(path), **pool
    )
    event.listen(engine.sync_engine, "connect", _writer_pragmas if immediate else _pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


async def raw_connection(session: AsyncSession) -> sqlite3.Connection:
    """The sqlite3 connection under ``session``, inside its open transaction."""
    connection = await session.connection()  # begins the transaction if it has not begun
    pooled = await connection.get_raw_connection()
    driver = pooled.driver_connection
    if not isinstance(driver, InlineConnection):
        raise TypeError("the edge database must use the inline SQLite driver")
    return driver.sqlite


class Database:
    """The node's database: a writer engine behind a lock, and a reader engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = make_engine(path, immediate=True)
        self.reader = make_engine(path, immediate=False)
        self._write_lock = asyncio.Lock()
        self._lookup: sqlite3.Connection | None = None

    def lookup(self, sql: str, parameters: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row by a parameterised query on a read-only connection, inline and ORM-free.

        For the per-request hot spots (who is the caller?) where a full session costs more
        than the query; each call is its own autocommit read of the latest committed state.
        """
        if self._lookup is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._lookup = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False
            )
            self._lookup.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        row = self._lookup.execute(sql, parameters).fetchone()
        return tuple(row) if row is not None else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.reader, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, AsyncSession(self.writer, expire_on_commit=False) as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database (PASSIVE: never blocks the writer)."""
        with closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def checkpoints(self, every_seconds: float = CHECKPOINT_SECONDS) -> None:
        """Checkpoint in a thread every few seconds, for as long as the node runs."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error:
                continue  # the next one catches up; the WAL only grows meanwhile

    async def dispose(self) -> None:
        with suppress(sqlite3.Error):
            await asyncio.to_thread(self.checkpoint)  # leave a small WAL behind
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None
        await self.writer.dispose()
        await self.reader.dispose()
