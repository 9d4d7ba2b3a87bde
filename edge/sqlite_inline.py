"""An asyncio-shaped SQLite driver that runs each call at once, on the event loop's thread.

SQLAlchemy's aiosqlite dialect normally hops to a worker thread for every cursor call (a
booking write made ~35 of them). SQLite calls on this node take microseconds, plus one fsync at
commit, so running them inline costs less than the hops. The dialect accepts any connection with
aiosqlite's async shape through ``async_creator``; this module provides one. Writers are already
serialised by ``Database``'s lock, and WAL readers never wait on the writer, so a call blocks the
loop only for its own work (``busy_timeout`` bounds the rare wait on another process).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue: runs the request and resolves its future."""

    def __init__(self) -> None:
        self.closed = False

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, not swallowed
            future.set_exception(error)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(
        self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()
    ) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, rows)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The underlying connection, for raw statements inside the session's transaction."""
        return self._conn

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def inline_creator(path: Path) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``path`` inline."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
