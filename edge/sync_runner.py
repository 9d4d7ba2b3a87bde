"""One sync round (push, document files, pull, reference bundle) and the link's state.

When the hub answers a pull with ``snapshot_required`` (this node is below its site's feed
horizon, or new with a long feed), the round bootstraps from a snapshot after its push
(``edge.sync_bootstrap``) and pulls on from the snapshot's ``as_of``; a bootstrap an earlier
round left unfinished is resumed before the pull.

The scheduler asks ``SyncRunner.tick`` every few seconds; a round runs when it is due. While the
hub is unreachable the delay doubles up to ``sync.max_backoff_seconds``, with jitter so a fleet
that lost its hub together does not come back in one wave; the node keeps serving throughout.
``run_once`` is also what ``POST /sync/run`` and ``prep-edge sync --once`` start.
Reachability, last push and pull, the last error and the clock offset are stored in
``sync_state`` so ``GET /sync/status`` and the CLI read the same facts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from edge.clock import epoch_ms
from edge.columns import utc_text
from edge.db import raw_connection
from edge.errors import HubRefused, HubUnreachable
from edge.services import EdgeServices
from edge.sync_pull import PullReport, pull_all
from edge.sync_push import PushReport, push_pending
from reference_db.signing import load_private_key
from sync.shapes.sync_status import SyncStatus

if TYPE_CHECKING:  # the hub link (and httpx) load with the first round, not at start
    import httpx

    from edge.hub_link import HubLink
    from edge.sync_bootstrap import BootstrapReport

log = logging.getLogger("prep.edge.sync")


@dataclass
class RoundReport:
    outcome: str  # ok | offline | refused | not_enrolled
    push: PushReport = field(default_factory=PushReport)
    pull: PullReport = field(default_factory=PullReport)
    error: str | None = None
    blobs: int = 0  # document files the hub now holds whole
    reference_version: int | None = None  # a newer bundle installed this round
    bundle_error: str | None = None
    retry_after_s: float | None = None  # the hub asked for a pause (429 Retry-After)
    bootstrap: BootstrapReport | None = None  # a snapshot was applied this round

    def summary(self) -> dict[str, Any]:
        boot = self.bootstrap
        return {
            "outcome": self.outcome,
            "pushed": self.push.sent,
            "applied_by_hub": self.push.applied,
            "duplicates": self.push.duplicates,
            "hub_high_water": self.push.high_water,
            "pulled": self.pull.applied,
            "skipped": self.pull.skipped,
            "checkpoint": self.pull.checkpoint,
            "conflicts": self.push.conflicts
            + self.pull.conflicts
            + (boot.conflicts if boot else 0),
            "snapshot_as_of": boot.as_of if boot else None,
            "snapshot_pages": boot.pages if boot else None,
            "snapshot_rows": boot.received if boot else None,
            "snapshot_inserted": boot.inserted if boot else None,
            "snapshot_kept_local": boot.kept_local if boot else None,
            "snapshot_resumed": boot.resumed if boot else None,
            "blobs_uploaded": self.blobs,
            "reference_installed": self.reference_version,
            "bundle_error": self.bundle_error,
            "error": self.error,
        }


def backoff_seconds(failures: int, base: float, ceiling: float, rng: random.Random) -> float:
    """Delay before the next attempt after ``failures`` failures in a row ("equal jitter")."""
    if failures <= 0:
        return base
    delay = min(ceiling, base * 2 ** min(failures, 30))
    return delay / 2 + rng.uniform(0, delay / 2)


class SyncRunner:
    """Runs rounds one at a time; knows when the next one is due."""

    def __init__(
        self,
        services: EdgeServices,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.services = services
        self.transport = transport
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.next_due: datetime | None = None
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[RoundReport]] = set()
        self._link: HubLink | None = None  # kept between rounds: its connection and key
        self._link_for: tuple[Any, ...] | None = None  # hub_url, node_id, generation, transport

    async def close(self) -> None:
        """Close the link to the hub (its pooled connection); the next round opens another."""
        link, self._link, self._link_for = self._link, None, None
        if link is not None:
            await link.close()

    async def _hub_link(self, state: dict[str, Any]) -> HubLink:
        """The link for this enrolment, opened once and reused by every round after."""
        from edge.hub_link import HubLink

        wanted = (state["hub_url"], state["node_id"], state["generation"], id(self.transport))
        if self._link is not None and self._link_for == wanted:
            return self._link
        await self.close()
        services = self.services
        self._link = HubLink(
            state["hub_url"],
            state["node_id"],
            load_private_key(services.settings.key_dir / "node.key"),
            lambda: epoch_ms(services.clock.now()),
            self.transport,
        )
        self._link_for = wanted
        return self._link

    def start_background(self) -> None:
        """A round now, without waiting for it (``POST /sync/run``); rounds never overlap."""
        task = asyncio.create_task(self.run_once())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_background(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def tick(self) -> RoundReport | None:
        """A round if one is due (the scheduler calls this every few seconds)."""
        now = self.services.clock.now()
        if self.next_due is not None and now < self.next_due:
            return None
        return await self.run_once()

    async def run_once(self) -> RoundReport:
        async with self._lock:
            report = await self._round()
        settings = self.services.settings.sync
        failures = await _failures(self.services)
        delay = backoff_seconds(
            failures, settings.interval_seconds, settings.max_backoff_seconds, self.rng
        )
        delay = max(delay, report.retry_after_s or 0.0)  # never sooner than the hub asked
        self.next_due = self.services.clock.now() + timedelta(seconds=delay)
        return report

    async def _refresh_bundle(self, link: HubLink, report: RoundReport) -> int | None:
        """A newer signed bundle from the hub, if any; a refused one is reported, not fatal."""
        from edge.bundle_sync import BundleRejected, refresh_bundle

        try:
            return await refresh_bundle(self.services, link)
        except BundleRejected as exc:
            report.bundle_error = exc.message
            log.warning("reference bundle not installed: %s", exc.message)
            return None

    async def _round(self) -> RoundReport:
        from edge.blob_sync import upload_missing_blobs

        services = self.services
        state = await read_link(services)
        if state["hub_url"] is None:
            return RoundReport("not_enrolled", error="this node is not enrolled with a hub")
        link = await self._hub_link(state)
        report = RoundReport("ok")
        try:
            report.push = await push_pending(
                services, link, state["generation"], services.settings.sync.batch_changes
            )
            report.blobs = await upload_missing_blobs(services, link)
            report.pull, report.bootstrap = await _pull_or_bootstrap(services, link)
            offered = report.pull.hub_bundle_version
            if offered is not None and offered > services.reference.version:
                report.reference_version = await self._refresh_bundle(link, report)
        except HubUnreachable as exc:
            report.outcome, report.error = "offline", exc.message
            report.retry_after_s = exc.retry_after_s
            await self.close()  # a fresh connection when the hub is back
        except HubRefused as exc:
            report.outcome, report.error = "refused", f"{exc.hub_code}: {exc.message}"
        await _record_round(services, report, link.last_hub_time_ms)
        if report.outcome not in ("ok", "not_enrolled"):  # a lone node is not a warning
            log.warning("sync %s: %s", report.outcome, report.error)
        return report


async def _pull_or_bootstrap(
    services: EdgeServices, link: HubLink
) -> tuple[PullReport, BootstrapReport | None]:
    """Pull; on ``snapshot_required`` bootstrap and pull again (a second time at most, when
    the hub compacted past the first snapshot while it was being read)."""
    from edge.sync_bootstrap import bootstrap, bootstrap_pending

    limit = services.settings.sync.page_limit
    boot = await bootstrap(services, link) if await bootstrap_pending(services) else None
    pull = await pull_all(services, link, limit)
    for _ in range(2):
        if not pull.snapshot_required:
            break
        boot = await bootstrap(services, link, report=boot)
        pull = _added(pull, await pull_all(services, link, limit))
    if pull.snapshot_required:
        raise HubRefused("the hub still asks for a snapshot after two", 409, "snapshot_required")
    return pull, boot


def _added(before: PullReport, after: PullReport) -> PullReport:
    after.pages += before.pages
    after.applied += before.applied
    after.skipped += before.skipped
    after.conflicts += before.conflicts
    for kind, count in before.skipped_kinds.items():
        after.skipped_kinds[kind] = after.skipped_kinds.get(kind, 0) + count
    return after


async def read_link(services: EdgeServices) -> dict[str, Any]:
    async with services.db.read() as session:
        raw = await raw_connection(session)
        hub_url, generation = raw.execute(
            "SELECT hub_url, generation FROM sync_state WHERE id = 1"
        ).fetchone()
        (node_id,) = raw.execute("SELECT node_id FROM node_state WHERE id = 1").fetchone()
    return {"hub_url": hub_url, "generation": generation, "node_id": node_id}


async def _failures(services: EdgeServices) -> int:
    row = services.db.lookup("SELECT failures FROM sync_state WHERE id = 1", ())
    return int(row[0]) if row else 0


async def _record_round(services: EdgeServices, report: RoundReport, hub_ms: int | None) -> None:
    now = services.clock.now()
    reached = report.outcome in ("ok", "refused")  # a refusal is an answer: the hub is there
    async with services.db.write() as session:
        raw = await raw_connection(session)
        if report.outcome == "not_enrolled":
            return
        if reached:
            done = utc_text(now) if report.outcome == "ok" else None
            raw.execute(
                "UPDATE sync_state SET online = 1, offline_since = NULL, last_attempt_at = ?,"
                " failures = 0, last_error = ?, clock_offset_ms = COALESCE(?, clock_offset_ms),"
                " last_push_at = COALESCE(?, last_push_at),"
                " last_pull_at = COALESCE(?, last_pull_at)"
                " WHERE id = 1",
                (
                    utc_text(now),
                    report.error,
                    None if hub_ms is None else hub_ms - epoch_ms(now),
                    done,
                    done,
                ),
            )
        else:
            raw.execute(
                "UPDATE sync_state SET online = 0, offline_since = COALESCE(offline_since, ?),"
                " last_attempt_at = ?, failures = failures + 1, last_error = ? WHERE id = 1",
                (utc_text(now), utc_text(now), report.error),
            )


_STATUS = (
    "SELECT hub_url, online, offline_since, last_push_at, last_pull_at, clock_offset_ms,"
    " pushed_seq FROM sync_state WHERE id = 1"
)


async def sync_status(services: EdgeServices) -> SyncStatus:
    async with services.db.read() as session:
        raw = await raw_connection(session)
        hub_url, online, offline_since, pushed_at, pulled_at, offset, pushed = raw.execute(
            _STATUS
        ).fetchone()
        depth, oldest = raw.execute(
            "SELECT count(*), min(created_at) FROM outbox WHERE seq > ?", (pushed,)
        ).fetchone()
        (conflicts,) = raw.execute("SELECT count(*) FROM conflict WHERE status = 'open'").fetchone()
    return SyncStatus(
        enrolled=hub_url is not None,
        online=bool(online),
        offline_since=_instant(offline_since),
        outbox_depth=depth,
        oldest_unsent_at=_instant(oldest),
        last_push_at=_instant(pushed_at),
        last_pull_at=_instant(pulled_at),
        open_conflicts=conflicts,
        clock_offset_ms=offset,
        reference_version=services.reference.version,
    )


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
