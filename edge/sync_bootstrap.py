"""Snapshot bootstrap: a new or long-offline node loads the hub's current state, page by page.

The round pushes first, so what the hub sends already holds this node's changes. When the pull
answers ``snapshot_required`` (the node is below its site's feed horizon, or new with more than
a page of feed), the round fetches ``GET /sync/v1/snapshot`` pages and applies each one in one
write transaction together with its progress: the snapshot's ``as_of`` and the cursor of the
next page in ``sync_state``. The last page clears them and sets ``pull_checkpoint`` to
``as_of`` in the same transaction, and the round pulls on from there. A round cut short (crash,
hub gone) leaves the progress of the last applied page: the next round pushes, then resumes
from its cursor before it pulls (``bootstrap_pending``).

How a page lands (the rules of ``edge.sync_pull``, applied a column at a time, no row objects):

- a row whose local outbox changes the hub has not acknowledged yet stays as it is (counted as
  ``kept_local``): unacknowledged local writes are never discarded;
- bookings: new ones inserted together (``executemany``); known ones take the hub's status
  as a pull does (``sync.merge.pulled_status``) and its word on payment; then every active
  booking with an unacknowledged local change is settled against what overlaps it by the
  keeper rule (``settle_overlaps``: the loser becomes ``conflict`` and a Conflict opens);
- resources: the node owns them, so only unknown ones are added (a booking needs its station);
- renters (newer stamp wins, contacts sealed under this node's key), conflicts (newer decision
  wins) and document review fields as on a pull.

Each page is audited as one ``sync.snapshot`` event.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.columns import utc_text
from edge.errors import HubRefused
from edge.journal import Tx
from edge.services import EdgeServices
from edge.sync_pull import (
    BOOKING_COLUMNS,
    INSERT_BOOKING,
    SYNC_ACTOR,
    apply_conflict,
    apply_document_review,
    apply_renter,
    settle_overlaps,
)
from sync.merge import ACTIVE_STATUSES, pulled_status
from sync.snapshot import SnapshotPage, SnapshotTable

if TYPE_CHECKING:
    from edge.hub_link import HubLink

SNAPSHOT_LIMIT = 20_000  # rows a page: a few MB of memory, a few hundred ms of work
_CHUNK = 900  # ids per IN (...) query
_FIRST_PAGE = 5_000  # a small first page: nothing is read ahead of it, so it is waited for
_HAND_OVER_S = 0.002  # time for the next page's request to be sent (SQLite then holds the loop)
_REPLICATED = ("resource", "renter", "booking", "conflict", "document")


@dataclass
class BootstrapReport:
    as_of: int | None = None
    pages: int = 0
    received: int = 0  # rows in the pages
    inserted: int = 0  # bookings and stations this node did not have
    updated: int = 0  # known bookings moved forward
    kept_local: int = 0  # rows left as they are: local changes not yet acknowledged
    conflicts: int = 0
    resumed: bool = False  # went on from a bootstrap an earlier round left unfinished
    restarts: int = 0  # started over: the snapshot fell below the hub's horizon meanwhile
    skipped_tables: dict[str, int] = field(default_factory=dict)


async def bootstrap_pending(services: EdgeServices) -> bool:
    """True if an earlier round left a bootstrap unfinished (a cursor is stored)."""
    return _progress(services)[1] is not None


async def bootstrap(
    services: EdgeServices,
    link: HubLink,
    limit: int | None = None,
    report: BootstrapReport | None = None,
) -> BootstrapReport:
    """Fetch and apply snapshot pages until the last one; resumes a stored cursor.

    The next page is asked for before this one is applied, so the hub reads it meanwhile.
    """
    limit = limit or SNAPSHOT_LIMIT
    report = report or BootstrapReport()
    as_of, cursor = _progress(services)
    report.resumed = report.resumed or cursor is not None
    ahead: asyncio.Future[SnapshotPage] | None = None
    try:
        while True:
            try:
                page = await (ahead or link.snapshot(cursor, min(limit, _FIRST_PAGE)))
            except HubRefused as exc:
                if exc.hub_code != "snapshot_expired" or report.restarts:
                    raise
                report.restarts += 1  # the hub compacted past it meanwhile: start a new one
                as_of, cursor, ahead = None, None, None
                continue
            if (as_of is not None and page.as_of != as_of) or (
                page.next_cursor is not None and page.next_cursor == cursor
            ):  # a page must move on; one page alone has no next cursor, as it began with none
                raise HubRefused(
                    "the hub's snapshot pages do not follow one another", 200, "bad_page"
                )
            ahead = None
            if page.next_cursor is not None:
                ahead = asyncio.ensure_future(link.snapshot(page.next_cursor, limit))
                await asyncio.sleep(_HAND_OVER_S)  # the request leaves before the page lands
            await apply_snapshot_page(services, page, report)
            report.pages += 1
            report.as_of = as_of = page.as_of
            if page.next_cursor is None:
                return report
            cursor = page.next_cursor
    finally:
        if ahead is not None and not ahead.done():
            ahead.cancel()
        if ahead is not None:
            with suppress(asyncio.CancelledError, Exception):
                await ahead  # retrieved, so a cut-short fetch is not reported as lost


def _progress(services: EdgeServices) -> tuple[int | None, str | None]:
    row = services.db.lookup("SELECT snapshot_as_of, snapshot_cursor FROM sync_state", ())
    return (row[0], row[1]) if row else (None, None)


async def apply_snapshot_page(
    services: EdgeServices, page: SnapshotPage, report: BootstrapReport
) -> None:
    """Apply one page and store the progress with it, in one transaction (all or nothing)."""
    now = services.clock.now()
    async with services.journal.write(SYNC_ACTOR, now) as tx:
        pending = _unacknowledged(tx.raw)
        counts: dict[str, int] = {}
        for name in _REPLICATED:
            table = page.tables.get(name)
            if table is not None and table.rows:
                counts[name] = table.rows
                report.received += table.rows
                _APPLY[name](tx, services, table, pending.get(name, set()), report)
        candidates = _active(tx.raw, pending.get("booking", set()))
        settled = settle_overlaps(tx, candidates)
        report.conflicts += settled
        for name, rows in page.skipped.items():
            report.skipped_tables[name] = report.skipped_tables.get(name, 0) + rows
        details = {"as_of": page.as_of, "rows": counts, "conflicts": settled}
        tx.record("sync.snapshot", "sync_state", "1", details)
        if page.next_cursor is None:  # the last page: pull on from as_of
            tx.raw.execute(
                "UPDATE sync_state SET pull_checkpoint = ?, last_pull_at = ?,"
                " snapshot_as_of = NULL, snapshot_cursor = NULL WHERE id = 1",
                (page.as_of, utc_text(now)),
            )
        else:
            tx.raw.execute(
                "UPDATE sync_state SET snapshot_as_of = ?, snapshot_cursor = ? WHERE id = 1",
                (page.as_of, page.next_cursor),
            )


def _unacknowledged(raw: sqlite3.Connection) -> dict[str, set[str]]:
    """Ids of replicated rows with outbox changes the hub has not acknowledged, by entity."""
    rows = raw.execute(
        "SELECT DISTINCT entity, entity_id FROM outbox"
        " WHERE seq > (SELECT pushed_seq FROM sync_state WHERE id = 1)"
        " AND entity IN ('resource', 'renter', 'booking', 'conflict', 'document')"
    )
    pending: dict[str, set[str]] = {}
    for entity, entity_id in rows:
        pending.setdefault(entity, set()).add(entity_id)
    return pending


def _active(raw: sqlite3.Connection, ids: set[str]) -> list[str]:
    found = _select(raw, "id, status", "booking", ids)
    return [ident for ident, status in found if status in ACTIVE_STATUSES]


def _select(raw: sqlite3.Connection, columns: str, table: str, ids: Iterable[str]) -> list[Any]:
    """Rows of ``table`` whose id is in ``ids``, a chunk of ids per query."""
    wanted, found = list(ids), []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        query = f"SELECT {columns} FROM {table} WHERE id IN ({marks})"  # noqa: S608 - constants
        found.extend(raw.execute(query, chunk).fetchall())
    return found


def _rows(table: SnapshotTable, names: Sequence[str]) -> list[dict[str, Any]]:
    """Row dictionaries, for the small tables applied by the pull's own rules."""
    columns = [table.columns[name] for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


# --- per table ---------------------------------------------------------------------------------


def _resources(
    tx: Tx, services: EdgeServices, table: SnapshotTable, pending: set[str], r: BootstrapReport
) -> None:
    c = table.columns
    now = utc_text(tx.now)
    before = tx.raw.total_changes
    tx.raw.executemany(
        "INSERT INTO resource (id, site_id, name, kind, hourly_rate_cents, active, created_at,"
        " updated_hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            (i, tx.node.site_id, name, kind, rate, active, now, stamp)
            for i, name, kind, rate, active, stamp in zip(
                c["id"], c["name"], c["kind"], c["hourly_rate_cents"], c["active"],
                c["updated_hlc"], strict=True,
            )
        ),
    )  # fmt: skip
    r.inserted += tx.raw.total_changes - before


def _renters(
    tx: Tx, services: EdgeServices, table: SnapshotTable, pending: set[str], r: BootstrapReport
) -> None:
    for row in _rows(table, ("id", "name", "email", "phone", "profile", "updated_hlc")):
        if row["id"] in pending:
            r.kept_local += 1
            continue
        row["profile"] = json.loads(row["profile"])
        apply_renter(tx, row, services.pii)


def _bookings(
    tx: Tx, services: EdgeServices, table: SnapshotTable, pending: set[str], r: BootstrapReport
) -> None:
    c = table.columns
    _require_parents(tx, c)
    local = {row[0]: row[1:] for row in _select(
        tx.raw, "id, status, paid, confirmed_hlc, updated_hlc", "booking", c["id"]
    )}  # fmt: skip
    rows: Iterable[tuple[Any, ...]] = zip(*(c[name] for name in BOOKING_COLUMNS), strict=True)
    if local:
        rows = [row for row in rows if row[0] not in local]
    before = tx.raw.total_changes
    tx.raw.executemany(INSERT_BOOKING, rows)
    r.inserted += tx.raw.total_changes - before
    if local:
        _move_forward(tx, c, local, pending, r)


def _move_forward(
    tx: Tx,
    c: Mapping[str, Sequence[Any]],
    local: dict[str, tuple[Any, ...]],
    pending: set[str],
    r: BootstrapReport,
) -> None:
    """Known bookings: status forward, payment as the hub says (the pull's rule, in bulk)."""
    now, updates = utc_text(tx.now), []
    for ident, status, paid, confirmed, stamp in zip(
        c["id"], c["status"], c["paid"], c["confirmed_hlc"], c["updated_hlc"], strict=True
    ):
        if ident not in local:
            continue
        if ident in pending:
            r.kept_local += 1
            continue
        was_status, was_paid, was_confirmed, was_stamp = local[ident]
        merged = pulled_status(was_status, {"status": status})  # the pull's rule
        if (merged, paid) == (was_status, bool(was_paid)):
            continue
        updates.append(
            (merged, paid, was_confirmed or confirmed, max(was_stamp, stamp), now, ident)
        )
    tx.raw.executemany(
        "UPDATE booking SET status = ?, paid = ?, confirmed_hlc = ?, updated_hlc = ?,"
        " updated_at = ? WHERE id = ?",
        updates,
    )
    r.updated += len(updates)


def _require_parents(tx: Tx, c: Mapping[str, Sequence[Any]]) -> None:
    """Every booking's site, station and renter are here (or the page is refused, whole)."""
    if set(c["site_id"]) - {tx.node.site_id}:
        raise HubRefused("the hub's snapshot holds bookings of another site", 200, "bad_page")
    for table, column in (("resource", "resource_id"), ("renter", "renter_id")):
        wanted = set(c[column])
        missing = wanted - {row[0] for row in _select(tx.raw, "id", table, wanted)}
        if missing:
            raise HubRefused(
                f"the hub's snapshot books a {table} it did not send: {sorted(missing)[0]}",
                200,
                "bad_page",
            )


def _conflicts(
    tx: Tx, services: EdgeServices, table: SnapshotTable, pending: set[str], r: BootstrapReport
) -> None:
    for row in _rows(table, list(table.columns)):
        if row["id"] in pending:
            r.kept_local += 1
            continue
        apply_conflict(tx, row)


def _documents(
    tx: Tx, services: EdgeServices, table: SnapshotTable, pending: set[str], r: BootstrapReport
) -> None:
    """Review fields of documents this node holds (files uploaded elsewhere: not yet)."""
    for row in _rows(table, ("id", "review_status", "updated_hlc")):
        if row["id"] in pending:
            r.kept_local += 1
            continue
        apply_document_review(tx.raw, row)


_APPLY = {
    "resource": _resources,
    "renter": _renters,
    "booking": _bookings,
    "conflict": _conflicts,
    "document": _documents,
}
