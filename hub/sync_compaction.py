"""Feed compaction: superseded rows and old tombstones leave the feed; the site's horizon rises.

A feed row carries its entity's whole replicated state, so once a later row of the same
``(site, entity, entity_id)`` exists, the earlier one tells a node nothing the later one does
not. Tombstones (``op = 'delete'``) are needed only until every node has pulled them. Both are
removed once older than the horizon (``--keep-days``, by the row's ``at``), a window of rows
at a time, each window in its own short transaction under the site's advisory lock (the lock
feed writers take, so the site's feed stands still while a window is cut).

The site's ``feed_horizon`` becomes the highest ``hub_seq`` removed, in the same transaction as
the removal. A node whose checkpoint is below it may have missed a tombstone, so its pull
answers ``snapshot_required`` (``hub.sync_pull``); a node at or above it pulls on as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.db import Database
from hub.sync_feed import driver

WINDOW_ROWS = 10_000
DEFAULT_KEEP_DAYS = 30

_OLD_SITES = (
    "SELECT site_id, max(hub_seq) AS last_old FROM feed WHERE at < $1"
    " GROUP BY site_id ORDER BY site_id"
)
_WINDOW_END = (
    "SELECT max(hub_seq) AS high, count(*) AS rows FROM (SELECT hub_seq FROM feed"
    " WHERE site_id = $1 AND hub_seq > $2 AND hub_seq <= $3 ORDER BY hub_seq LIMIT $4) AS w"
)
_REMOVE = (
    "WITH gone AS (DELETE FROM feed AS f WHERE f.site_id = $1 AND f.hub_seq > $2"
    " AND f.hub_seq <= $3 AND f.at < $4 AND (f.op = 'delete' OR EXISTS (SELECT 1 FROM feed AS"
    " later WHERE later.site_id = f.site_id AND later.entity = f.entity"
    " AND later.entity_id = f.entity_id AND later.hub_seq > f.hub_seq)) RETURNING f.hub_seq)"
    " SELECT count(*) AS removed, max(hub_seq) AS highest FROM gone"
)
_RAISE_HORIZON = "UPDATE site SET feed_horizon = GREATEST(feed_horizon, $2) WHERE id = $1"


@dataclass
class SiteCompaction:
    site_id: str
    examined: int = 0
    removed: int = 0
    horizon: int | None = None  # the site's horizon after this run, if rows were removed


@dataclass
class CompactionReport:
    cutoff: datetime
    sites: list[SiteCompaction] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return sum(site.removed for site in self.sites)


Progress = Callable[[SiteCompaction], None]


async def compact_feed(
    db: Database,
    now: datetime,
    keep_days: float = DEFAULT_KEEP_DAYS,
    progress: Progress | None = None,
    window_rows: int = WINDOW_ROWS,
) -> CompactionReport:
    """Compact every site's feed rows older than ``keep_days``; ``progress`` after each window."""
    report = CompactionReport(cutoff=now - timedelta(days=keep_days))
    async with db.read() as session:
        conn = await driver(session)
        sites = await conn.fetch(_OLD_SITES, report.cutoff)
    for row in sites:
        site = SiteCompaction(row["site_id"])
        report.sites.append(site)
        low = 0
        while low < row["last_old"]:
            low = await _compact_window(db, site, low, row["last_old"], report.cutoff, window_rows)
            if progress is not None:
                progress(site)
    return report


async def _compact_window(
    db: Database, site: SiteCompaction, low: int, last_old: int, cutoff: datetime, rows: int
) -> int:
    """Remove what is removable in the next ``rows`` rows after ``low``; the window's end."""
    async with db.write() as session:
        conn = await driver(session)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"site:{site.site_id}")
        window = await conn.fetchrow(_WINDOW_END, site.site_id, low, last_old, rows)
        high = window["high"]
        if high is None:
            return last_old
        gone = await conn.fetchrow(_REMOVE, site.site_id, low, high, cutoff)
        if gone["removed"]:
            await conn.execute(_RAISE_HORIZON, site.site_id, gone["highest"])
            site.removed += gone["removed"]
            site.horizon = max(site.horizon or 0, gone["highest"])
        site.examined += window["rows"]
    return int(high)
