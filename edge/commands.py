"""What each ``prep-edge`` command does, once ``edge.cli`` has parsed its arguments.

Each ``run_*`` takes the parsed arguments and returns the exit status; refusals are raised as
edge errors (``edge.cli`` prints them in one line). "Now" and the environment are read here, at
the entry point. Heavy modules (the app, the engine, Alembic) are imported inside the command
that needs them, so ``--help`` and the quick commands answer at once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from edge.errors import EdgeError, InvalidInput, SetupError
from edge.settings import EdgeSettings
from sync.vocabulary import Role

LOCAL_ROLES = (Role.HOST, Role.STAFF, Role.ADMIN)


class ChainBroken(EdgeError):
    """The audit hash chain does not verify (``audit-verify`` exits 1)."""

    code = "audit_chain_broken"


def run_init(args: argparse.Namespace) -> int:
    from edge.setup import initialise

    now = datetime.now(UTC)
    result = initialise(
        args.data_dir, args.site_name, args.jurisdiction, args.timezone, now, dict(os.environ)
    )
    print(f"initialised {args.data_dir}")
    print(f"node id: {result.node_id}")
    print(f"site id: {result.site_id}")
    print(f"host username: {result.username}")
    print(f"one-time password: {result.password}")
    print("This password is shown only now; it must be changed at first sign-in.")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from edge.app import create_app
    from edge.backup import DatabaseInUse, serve_lock
    from edge.migrate import upgrade
    from edge.observability import configure_logging

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = EdgeSettings.load(args.data_dir, **overrides)
    configure_logging(settings.log_level)
    with ExitStack() as held:
        try:
            held.enter_context(serve_lock(settings.database_path))
        except DatabaseInUse:
            raise SetupError(f"{args.data_dir} is already served by another prep-edge") from None
        upgrade(settings.database_path)
        asyncio.run(_preflight(settings))  # a bad bundle or key is one line here, not a trace
        listener = _listen(settings.host, settings.port)
        config = uvicorn.Config(
            create_app(settings),
            log_config=None,  # our JSON logging, set up above
            access_log=False,  # the app logs each request itself, without the query string
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)  # stops gracefully on SIGTERM and SIGINT
        _settle_garbage_collector()
        try:
            server.run(sockets=[listener])
        except SystemExit:  # uvicorn's way of saying the app did not start; it logged why
            raise SetupError("the edge did not start (see the log above)") from None
    return 0


async def _preflight(settings: EdgeSettings) -> None:
    from edge.runtime import open_services

    async with open_services(settings):
        pass


def _settle_garbage_collector() -> None:
    """Long-lived start-up objects leave the collector's view; young collections run less often.

    A full collection over every imported module is what a request waiting behind it feels
    as a latency spike; after this, collections only walk what requests allocate.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise SetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.set_inheritable(True)
    return listener


def run_user_add(args: argparse.Namespace) -> int:

    if not args.password_stdin:
        raise InvalidInput("give the password on standard input with --password-stdin")
    role = _local_role(args.role)
    password = read_password(sys.stdin)
    settings = EdgeSettings.load(args.data_dir)
    user_id, username = asyncio.run(_create_local_user(settings, args.username, role, password))
    print(f"added {role.value} {username} ({user_id})")
    return 0


def _local_role(value: str) -> Role:
    names = ", ".join(r.value for r in LOCAL_ROLES)
    try:
        role = Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r} (want one of {names})") from None
    if role not in LOCAL_ROLES:
        raise InvalidInput(f"a {role.value} account is not added here (want one of {names})")
    return role


def read_password(stream: TextIO | None) -> str:
    """One line from ``stream``, without its line ending; refuses an empty one."""
    line = stream.readline() if stream is not None else ""
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise InvalidInput("no password on standard input")
    return password


async def _create_local_user(
    settings: EdgeSettings, username: str, role: Role, password: str
) -> tuple[str, str]:
    from edge.runtime import open_services
    from edge.users import create_user

    async with open_services(settings) as services:
        user = await create_user(services, username, role, password)
    return user.id, user.username


def run_audit_verify(args: argparse.Namespace) -> int:
    from edge.audit_verify import verify_database

    report = verify_database(args.data_dir / "edge.sqlite")
    if report.ok:
        print(f"ok: {report.checked} events")
        return 0
    raise ChainBroken(f"broken at sequence {report.first_bad_seq}: {report.reason}")


def run_backup(args: argparse.Namespace) -> int:
    from edge.backup import backup

    settings = EdgeSettings.load(args.data_dir)
    dest = args.out or settings.backup_dir
    path = backup(settings.database_path, dest, datetime.now(UTC), settings.jobs.backups_kept)
    print(path)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from edge.backup import restore

    data_dir: Path = args.data_dir
    if not (data_dir / "keys").is_dir():
        raise SetupError(f"{data_dir} is not an edge data directory (no keys/)")
    kept = restore(args.source, data_dir / "edge.sqlite")
    print(f"restored {data_dir / 'edge.sqlite'} from {args.source}")
    if kept is not None:
        print(f"the database it replaced is kept at {kept}")
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    settings = EdgeSettings.load(args.data_dir, jobs={"enabled": False})
    answer = asyncio.run(_enroll(settings, args.hub, args.token))
    print(f"enrolled node {answer.get('node_id')} with {args.hub} for site {answer.get('site_id')}")
    return 0


async def _enroll(settings: EdgeSettings, hub: str, token: str) -> dict[str, Any]:
    from edge.enrollment import enroll
    from edge.runtime import open_services

    async with open_services(settings) as services:
        return await enroll(services, hub, token)


def run_sync(args: argparse.Namespace) -> int:
    settings = EdgeSettings.load(args.data_dir, jobs={"enabled": False})
    return asyncio.run(_sync(settings, args.once))


async def _sync(settings: EdgeSettings, once: bool) -> int:
    from edge.runtime import open_services
    from edge.sync_runner import SyncRunner, sync_status

    async with open_services(settings) as services:
        runner = SyncRunner(services)
        try:
            while True:
                report = await runner.run_once()
                status = await sync_status(services)
                _print_round(report.summary(), status.model_dump(mode="json"))
                if once:
                    return 0 if report.outcome == "ok" else 1
                due = runner.next_due
                wait = (due - services.clock.now()).total_seconds() if due else 5
                await asyncio.sleep(max(wait, 0.5))
        finally:
            await runner.close()


def _print_round(summary: dict[str, Any], status: dict[str, Any]) -> None:
    for name, value in {**summary, **status}.items():
        if value is not None:
            print(f"{name}: {value}")
    print(flush=True)
