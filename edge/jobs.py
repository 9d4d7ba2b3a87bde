"""The edge's scheduled jobs: document reminders, the nightly backup and no-show marking.

An APScheduler ``AsyncIOScheduler`` on the app's event loop, in the site's time zone, started
and stopped by the app lifespan when ``jobs.enabled``. Every run goes through ``run_job``: it
takes "now" from ``services.clock``, logs the outcome, counts it for ``/metrics`` and, when the
job fails, logs the exception with the job's name; a failing job never takes the app down.
Stopping lets a run in progress finish (up to ``STOP_GRACE_SECONDS``) before cancelling it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from edge.backup import backup
from edge.booking_flow import mark_no_shows
from edge.observability import count_job
from edge.reminders import send_expiry_reminders
from edge.services import EdgeServices
from edge.sync_runner import SyncRunner

log = logging.getLogger("prep.edge.jobs")

REMINDER_HOUR = 7  # local: reminders go out before the kitchen's morning shift
NO_SHOW_MINUTES = 5
STOP_GRACE_SECONDS = 10.0
QUIET_JOBS = frozenset({"sync"})  # frequent jobs log their successes at DEBUG only

Job = Callable[[EdgeServices, datetime], Awaitable[Any]]


async def document_reminders(services: EdgeServices, now: datetime) -> int:
    """Send the expiry reminders due today; returns how many went out."""
    return len(await send_expiry_reminders(services, now))


async def nightly_backup(services: EdgeServices, now: datetime) -> str:
    """Back the database up into ``DIR/backups``, keeping ``jobs.backups_kept``."""
    settings = services.settings
    path = await asyncio.to_thread(
        backup, settings.database_path, settings.backup_dir, now, settings.jobs.backups_kept
    )
    return path.name


async def no_shows(services: EdgeServices, now: datetime) -> int:
    """Mark confirmed bookings past their grace period as no-shows; returns how many."""
    return await mark_no_shows(services, now)


async def run_job(services: EdgeServices, name: str, job: Job) -> bool:
    """Run ``job`` once at the clock's "now"; log and count its outcome. True if it succeeded."""
    now = services.clock.now()
    try:
        result = await job(services, now)
    except Exception as error:  # the job boundary: log and count, never stop the scheduler
        count_job(services, name, "error")
        log.error(
            "job %s failed at %s",
            name,
            now.isoformat(),
            exc_info=error,
            extra={"job": name, "outcome": "error"},
        )
        return False
    count_job(services, name, "ok")
    level = logging.DEBUG if name in QUIET_JOBS else logging.INFO  # every few seconds: not news
    log.log(level, "job %s done: %s", name, result, extra={"job": name, "outcome": "ok"})
    return True


class EdgeJobs:
    """The scheduler and the runs it has in flight."""

    def __init__(
        self, services: EdgeServices, timezone: ZoneInfo, runner: SyncRunner | None = None
    ) -> None:
        self.services = services
        self.timezone = timezone
        self.runner = runner
        self.scheduler = AsyncIOScheduler(timezone=timezone)
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        settings = self.services.settings.jobs
        zone = self.timezone
        self._add("reminders", document_reminders, CronTrigger(hour=REMINDER_HOUR, timezone=zone))
        self._add("backup", nightly_backup, CronTrigger(hour=settings.backup_hour, timezone=zone))
        self._add("no_shows", no_shows, IntervalTrigger(minutes=NO_SHOW_MINUTES, timezone=zone))
        if self.runner is not None:
            runner = self.runner

            async def sync_round(_services: EdgeServices, _now: datetime) -> str:
                report = await runner.tick()  # backs off by itself while the hub is away
                return "not due" if report is None else report.outcome

            every = self.services.settings.sync.interval_seconds
            self._add("sync", sync_round, IntervalTrigger(seconds=every, timezone=zone))
        self.scheduler.start()
        log.info(
            "jobs started: reminders daily at %02d:00, backup daily at %02d:00 (%s), "
            "no-shows every %d minutes",
            REMINDER_HOUR,
            settings.backup_hour,
            zone.key,
            NO_SHOW_MINUTES,
        )

    def _add(self, name: str, job: Job, trigger: Any) -> None:
        self.scheduler.add_job(
            self._run,
            trigger,
            args=(name, job),
            id=name,
            name=name,
            coalesce=True,  # a run missed while the loop was busy happens once, not many times
            max_instances=1,
            misfire_grace_time=3600,
        )

    async def _run(self, name: str, job: Job) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await run_job(self.services, name, job)
        finally:
            if task is not None:
                self._running.discard(task)

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop scheduling; let a run in progress finish, cancelling it after the grace time."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace_seconds)
            for task in late:
                log.warning("job %s cancelled at shutdown", task.get_name())
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # the scheduler shuts down on the loop's next turn
        log.info("jobs stopped")


async def start_jobs(services: EdgeServices, runner: SyncRunner | None = None) -> EdgeJobs:
    """Start the scheduler in the site's time zone (with the sync round when given a runner)."""
    jobs = EdgeJobs(services, services.site.timezone, runner)
    jobs.start()
    return jobs
