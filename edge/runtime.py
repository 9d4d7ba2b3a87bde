"""``open_services(settings, clock)``: the node's collaborators, opened and closed in one place.

The app's lifespan and the CLI commands that work on a node outside HTTP (``user add``, the
demo seeding) share it, so both see the same database discipline, journal, cipher and
verified reference bundle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from edge.bundle_sync import finish_interrupted_swap
from edge.clock import Clock, SystemClock, epoch_ms
from edge.db import Database
from edge.journal import Journal
from edge.pii import PiiCipher
from edge.reference import load_reference
from edge.services import EdgeServices, SiteInfo
from edge.settings import EdgeSettings
from edge.site_service import load_site


@asynccontextmanager
async def open_services(
    settings: EdgeSettings, clock: Clock | None = None
) -> AsyncIterator[EdgeServices]:
    """Open the database, journal, PII cipher and reference bundle; dispose of them after."""
    clock = clock or SystemClock()
    finish_interrupted_swap(settings.refdb_dir)  # a bundle swap cut short by a crash
    reference = load_reference(settings.refdb_dir, settings.key_dir)
    pii = PiiCipher(
        settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
    )
    db = Database(settings.database_path)
    try:
        journal = await Journal.open(db, lambda: epoch_ms(clock.now()))
        async with db.read() as session:
            site = await load_site(session)
        info = SiteInfo(site.id, site.jurisdiction, ZoneInfo(site.timezone))
        yield EdgeServices(
            settings=settings,
            clock=clock,
            db=db,
            journal=journal,
            pii=pii,
            reference=reference,
            site=info,
        )
    finally:
        await db.dispose()
