"""The collaborators a running hub hands to its handlers, built once in the app lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from hub.clock import Clock, SystemClock
from hub.db import Database
from hub.settings import HubSettings


@dataclass
class HubServices:
    settings: HubSettings
    clock: Clock
    db: Database
    push_slots: asyncio.Semaphore  # at most ``limits.max_inflight_pushes`` pushes applied at once
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, key: str) -> None:
        """Count one event (``kind:label...``) for ``/metrics``."""
        self.counters[key] = self.counters.get(key, 0) + 1


@asynccontextmanager
async def open_services(
    settings: HubSettings, clock: Clock | None = None
) -> AsyncIterator[HubServices]:
    """Open the database engine (lazily connecting) and dispose of it afterwards."""
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    try:
        yield HubServices(
            settings=settings,
            clock=clock or SystemClock(),
            db=db,
            push_slots=asyncio.Semaphore(settings.limits.max_inflight_pushes),
        )
    finally:
        await db.dispose()
