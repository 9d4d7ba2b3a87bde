"""Pull: a page of the site's feed after the node's checkpoint.

Feed rows of one site are written under the site's advisory lock (push, hub-side booking), so
they commit in ``hub_seq`` order for that site: a reader can never see row N+1 while row N is
still to come, and a checkpoint never skips a change. The page answers the new checkpoint
(the last row read) and whether more follows.

Instead of changes, the answer is ``snapshot_required`` (the node bootstraps from
``GET /sync/v1/snapshot``, then pulls from its ``as_of``) when the checkpoint is below the
site's feed horizon (compaction may have removed rows it has not seen, tombstones among them),
or when the checkpoint is 0 and the feed holds more than one page: a new node is faster
loaded from a snapshot than by replaying the feed. The horizon is read after the rows, so a
compaction that commits in between is seen (it raises the horizon in its own transaction).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.clock import epoch_ms
from hub.sync_feed import driver
from hub.tables import Node
from sync.pii import PiiCipher
from sync.wire import FeedChange, PullPage

MAX_PAGE = 20_000
_json = msgspec.json.Decoder(dict[str, Any]).decode
BUNDLE_HEADER = "X-Prep-Bundle-Version"  # the newest published reference bundle

_PAGE = (
    "SELECT hub_seq, hlc, origin, entity, entity_id, op, payload FROM feed"
    " WHERE site_id = $1 AND hub_seq > $2 ORDER BY hub_seq LIMIT $3"
)
_BEYOND = "SELECT hub_seq FROM feed WHERE site_id = $1 ORDER BY hub_seq OFFSET $2 LIMIT 1"


def opened(entity: str, payload: dict[str, Any], pii: PiiCipher | None) -> dict[str, Any]:
    """A feed payload as the edge receives it: renter contacts opened (sealed at rest here)."""
    if entity != "renter" or pii is None:
        return payload
    sent = {k: v for k, v in payload.items() if not k.endswith("_sealed")}
    for column in ("email", "phone"):
        sealed = payload.get(f"{column}_sealed")
        if sealed:
            sent[column] = pii.open(column, base64.b64decode(sealed))
    return sent


async def without_waiting_for_disk(session: AsyncSession) -> None:
    """Begin a pull's transaction with an asynchronous commit: a pull writes soft state only
    (its nonce, when the node was seen, what it reported), so its commit need not wait for the
    disk; a crash can lose the last moments of that state and nothing a node relies on."""
    connection = await session.connection()
    await connection.exec_driver_sql("SET LOCAL synchronous_commit = off")


async def pull_page(
    session: AsyncSession,
    node: Node,
    checkpoint: int,
    limit: int,
    now: datetime,
    pii: PiiCipher | None = None,
) -> PullPage:
    page, _bundle = await serve_pull(session, node, checkpoint, limit, now, pii)
    return page


async def serve_pull(
    session: AsyncSession,
    node: Node,
    checkpoint: int,
    limit: int,
    now: datetime,
    pii: PiiCipher | None = None,
    reported: tuple[int | None, int | None] = (None, None),
) -> tuple[PullPage, int | None]:
    """The page after ``checkpoint`` and the newest published bundle's version, in at most
    three statements; the node is marked seen with what it ``reported`` (outbox depth, oldest
    unsent change in epoch ms; ``None`` keeps what it reported before)."""
    conn = await driver(session)
    # A new node facing more than a page goes to the snapshot; asked before reading payloads.
    long_feed = checkpoint == 0 and await conn.fetchval(_BEYOND, node.site_id, limit) is not None
    rows = [] if long_feed else await conn.fetch(_PAGE, node.site_id, checkpoint, limit + 1)
    depth, oldest_ms = reported
    oldest = datetime.fromtimestamp(oldest_ms / 1000, UTC) if oldest_ms else None
    tail = await conn.fetchrow(_SEEN_HORIZON_BUNDLE, node.id, now, depth, oldest, node.site_id)
    bundle = tail["bundle"]
    stamp = epoch_ms(now)
    if checkpoint < (tail["horizon"] or 0) or long_feed:
        page = PullPage([], checkpoint, more=False, hub_time_ms=stamp, snapshot_required=True)
        return page, bundle
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        FeedChange(
            row["hub_seq"],
            row["hlc"],
            row["origin"],
            row["entity"],
            row["entity_id"],
            row["op"],
            opened(row["entity"], _payload(row["payload"]), pii),
        )
        for row in rows
    ]
    last = rows[-1]["hub_seq"] if rows else checkpoint
    return PullPage(changes, last, more=more, hub_time_ms=stamp), bundle


def _payload(value: str | dict[str, Any]) -> dict[str, Any]:
    return _json(value) if isinstance(value, str) else value


# The node seen now (with its report), then the site's horizon, read after the page's rows so a
# compaction committed in between is seen, and the newest bundle: one round trip.
_SEEN_HORIZON_BUNDLE = (
    "WITH seen AS (UPDATE node SET last_seen_at = $2,"
    " reported_outbox_depth = COALESCE($3, reported_outbox_depth),"
    " reported_oldest_unsent_at = CASE WHEN $3::int IS NULL THEN reported_oldest_unsent_at"
    " ELSE $4 END WHERE id = $1)"
    " SELECT (SELECT feed_horizon FROM site WHERE id = $5) AS horizon,"
    " (SELECT max(version) FROM reference_bundle) AS bundle"
)
