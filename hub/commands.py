"""What each ``prep-hub`` command does, once ``hub.cli`` has parsed its arguments.

Each ``run_*`` takes the parsed arguments and returns the exit status; refusals are raised as
hub errors (``hub.cli`` prints them in one line). "Now" and the environment are read here, at the
entry point. Heavy modules (the app, uvicorn, Alembic) are imported inside the command that needs
them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database
from hub.errors import InvalidInput, SetupError
from hub.settings import DatabaseSettings, HubSettings
from sync.vocabulary import Role

T = TypeVar("T")


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return {"config_file": args.config} if args.config is not None else {}


def in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one write transaction on the database at ``url``, then dispose of it."""

    async def go() -> T:
        db = Database(url, pool_size=1)
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def run_migrate(args: argparse.Namespace) -> int:
    from hub.migrate import HEAD_REVISION, upgrade

    settings = DatabaseSettings.load(**_config(args))
    upgrade(settings.database_url)
    print(f"database schema at revision {HEAD_REVISION}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.observability import configure_logging

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = HubSettings.load(**_config(args), **overrides)
    configure_logging(settings.log_level)
    asyncio.run(_preflight(settings))  # an unreachable or unmigrated database is one line here
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, set up above
        access_log=False,  # the app logs each request itself, without the query string
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    try:
        uvicorn.Server(config).run()  # stops gracefully on SIGTERM and SIGINT
    except SystemExit:  # uvicorn's way of saying the app did not start; it logged why
        raise SetupError("the hub did not start (see the log above)") from None
    return 0


async def _preflight(settings: HubSettings) -> None:
    from hub.migrate import HEAD_REVISION, current_revision

    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.engine.connect() as connection:
            revision = await current_revision(connection)
    finally:
        await db.dispose()
    if revision != HEAD_REVISION:
        raise SetupError(
            f"the database schema is at {revision or 'nothing'}, not {HEAD_REVISION}: "
            "run prep-hub migrate"
        )


def run_admin_create(args: argparse.Namespace) -> int:
    from hub.users import create_user, normalise_email

    if not args.password_stdin:
        raise InvalidInput("give the password on standard input with --password-stdin")
    email = normalise_email(args.email)
    password = read_password(sys.stdin)
    settings = HubSettings.load(**_config(args))
    now = datetime.now(UTC)
    user = in_transaction(
        settings.database_url, lambda s: create_user(s, email, Role.ADMIN, password, now)
    )
    print(f"created admin {user.email} ({user.id})")
    return 0


def read_password(stream: TextIO | None) -> str:
    """One line from ``stream``, without its line ending; refuses an empty one."""
    line = stream.readline() if stream is not None else ""
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise InvalidInput("no password on standard input")
    return password


def run_enroll_token(args: argparse.Namespace) -> int:
    from hub.enrollment import issue_token

    settings = HubSettings.load(**_config(args))
    lifetime = timedelta(hours=settings.enrollment.token_hours)
    now = datetime.now(UTC)
    issued = in_transaction(
        settings.database_url,
        lambda s: issue_token(
            s,
            args.site_name,
            now,
            lifetime,
            jurisdiction=args.jurisdiction,
            timezone=args.timezone,
        ),
    )
    print(issued.token)  # alone on stdout, for scripts: TOKEN=$(prep-hub enroll-token ...)
    return 0


def run_publish_refdb(args: argparse.Namespace) -> int:
    from hub.bundles import publish_bundle

    settings = HubSettings.load(**_config(args))
    key = settings.refdb_key()
    now = datetime.now(UTC)
    row = in_transaction(
        settings.database_url,
        lambda s: publish_bundle(s, args.file, key, settings.bundle_dir, now),
    )
    print(f"published reference bundle version {row.version} ({row.sha256[:16]}) at {row.path}")
    return 0


def run_compact_feed(args: argparse.Namespace) -> int:
    from hub.sync_compaction import SiteCompaction, compact_feed

    settings = DatabaseSettings.load(**_config(args))
    now = datetime.now(UTC)

    def progress(site: SiteCompaction) -> None:
        print(
            f"  site {site.site_id}: {site.examined:,} old rows examined, {site.removed:,} removed",
            file=sys.stderr,
            flush=True,
        )

    async def go() -> Any:
        db = Database(settings.database_url, pool_size=1)
        try:
            return await compact_feed(db, now, args.keep_days, progress)
        finally:
            await db.dispose()

    report = asyncio.run(go())
    cutoff = report.cutoff.isoformat(timespec="seconds")
    if not report.sites:
        print(f"feed: no rows older than {cutoff}; nothing to compact")
        return 0
    print(f"feed: {report.removed:,} rows removed from {len(report.sites)} sites (before {cutoff})")
    for site in report.sites:
        horizon = f"horizon {site.horizon}" if site.horizon is not None else "horizon unchanged"
        print(
            f"  {site.site_id}: {site.removed:,} of {site.examined:,} old rows removed, {horizon}"
        )
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    from hub.audit_chain import ProgressLines, report_line, verify_chains

    settings = DatabaseSettings.load(**_config(args))
    progress = ProgressLines(sys.stderr)

    async def go() -> Any:
        db = Database(settings.database_url, pool_size=1)
        try:
            return await verify_chains(db, args.node, progress)
        finally:
            await db.dispose()

    reports = asyncio.run(go())
    if not reports:
        print("no audit chains on this hub (no enrolled node, no audit event)")
    for report in reports:
        print(report_line(report))
    print(progress.summary(reports), file=sys.stderr)
    return 1 if any(not report.intact for report in reports) else 0
