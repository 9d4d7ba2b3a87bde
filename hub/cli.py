"""The ``prep-hub`` command line: migrate, run and administer the central hub.

This module parses; ``hub.commands`` does the work. Settings come from the environment
(``PREP_HUB_...``) and the TOML file of ``--config`` / ``PREP_HUB_CONFIG_FILE``. Bad input, an
unusable setting or a refused bundle gets a one-line error on standard error and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from asyncpg import PostgresError
from sqlalchemy.exc import SQLAlchemyError

from hub import commands as run
from hub.errors import HubError
from reference_db.errors import RefDbError

PROG = "prep-hub"
EXIT_BAD_INPUT = 2

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace], int]

COMMANDS: dict[str, Command] = {
    "migrate": run.run_migrate,
    "serve": run.run_serve,
    "admin create": run.run_admin_create,
    "enroll-token": run.run_enroll_token,
    "publish-refdb": run.run_publish_refdb,
    "compact-feed": run.run_compact_feed,
    "audit-verify": run.run_audit_verify,
}


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-hub`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.name](args)
    except (HubError, RefDbError) as exc:
        return _fail(args.name, str(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(args.name, f"{exc.strerror or exc}{where}")
    except SQLAlchemyError as exc:
        return _fail(args.name, f"database error: {getattr(exc, 'orig', None) or exc}")
    except PostgresError as exc:  # raised by asyncpg itself when connecting
        return _fail(args.name, f"database error: {exc}")
    except KeyboardInterrupt:
        print(f"{PROG} {args.name}: interrupted", file=sys.stderr)
        return 130


def _fail(command: str, message: str, status: int = EXIT_BAD_INPUT) -> int:
    first = (message.strip().splitlines() or ["failed"])[0]
    print(f"{PROG} {command}: {first}", file=sys.stderr)
    return status


# --- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``prep-hub`` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run and administer the Prep hub. The database is PREP_HUB_DATABASE_URL; "
        "other settings come from PREP_HUB_* variables or a TOML file.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML settings file (default: PREP_HUB_CONFIG_FILE); the environment overrides it",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_migrate_serve(commands)
    _add_admin(commands)
    _add_enroll_token(commands)
    _add_publish_refdb(commands)
    _add_compact_feed(commands)
    _add_audit_verify(commands)
    return parser


def _add_migrate_serve(commands: _Commands) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema",
        description="Run the Alembic migrations up to the latest revision (safe to repeat).",
    )
    migrate.set_defaults(name="migrate")
    serve = commands.add_parser("serve", help="run the hub", description="Run the hub HTTP API.")
    serve.add_argument("--host", metavar="H", help="address to listen on (default: from settings)")
    serve.add_argument(
        "--port", type=int, metavar="P", help="port to listen on (default: settings)"
    )
    serve.set_defaults(name="serve")


def _add_admin(commands: _Commands) -> None:
    admin = commands.add_parser("admin", help="manage central accounts", description="Admins.")
    actions = admin.add_subparsers(title="commands", metavar="COMMAND", required=True)
    create = actions.add_parser(
        "create",
        help="create an admin account",
        description="Create an admin account, reading the password from standard input.",
    )
    create.add_argument("--email", required=True, metavar="E", help="the admin's email (login)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(name="admin create")


def _add_enroll_token(commands: _Commands) -> None:
    cmd = commands.add_parser(
        "enroll-token",
        help="issue a one-time enrolment token for an edge",
        description="Issue a one-time enrolment token for a site's edge, printed alone on "
        "stdout. The site is created if no site has this name.",
    )
    cmd.add_argument("--site-name", required=True, metavar="NAME", help="the site to enrol")
    cmd.add_argument(
        "--jurisdiction", metavar="J", help="jurisdiction id of a new site, e.g. san_francisco"
    )
    cmd.add_argument(
        "--timezone", metavar="TZ", help="IANA time zone of a new site, e.g. America/Los_Angeles"
    )
    cmd.set_defaults(name="enroll-token")


def _add_publish_refdb(commands: _Commands) -> None:
    cmd = commands.add_parser(
        "publish-refdb",
        help="publish a signed reference bundle to the fleet",
        description="Publish a reference bundle built and signed by 'prep-refdb build': it is "
        "verified against PREP_HUB_REFDB_PUBLIC_KEY and must be newer than the latest published.",
    )
    cmd.add_argument("file", type=Path, metavar="FILE", help="the bundle's SQLite file")
    cmd.set_defaults(name="publish-refdb")


def _keep_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 <= days <= 36_500:
        raise argparse.ArgumentTypeError(f"--keep-days must be 0 to 36500, not {text}")
    return days


def _add_compact_feed(commands: _Commands) -> None:
    cmd = commands.add_parser(
        "compact-feed",
        help="remove superseded rows and old tombstones from the sync feed",
        description="Remove feed rows that a later row of the same entity supersedes, and "
        "tombstones, once older than --keep-days; each site's feed horizon rises to the highest "
        "row removed. An edge whose checkpoint is below its site's horizon re-bootstraps from a "
        "snapshot on its next sync (after pushing). Safe to repeat and to run while the hub "
        "serves: each window of rows is cut in a short transaction of its own.",
    )
    cmd.add_argument(
        "--keep-days",
        type=_keep_days,
        default=30.0,
        metavar="N",
        help="keep every row written in the last N days (default: 30)",
    )
    cmd.set_defaults(name="compact-feed")


def _add_audit_verify(commands: _Commands) -> None:
    cmd = commands.add_parser(
        "audit-verify",
        help="verify the nodes' audit hash chains",
        description="Re-hash every stored audit event of each node, in sequence order, and check "
        "that the sequence has no gap and each event follows the hash of the one before. Prints "
        "one line per node (intact, or the first broken seq and why); progress goes to standard "
        "error. Exit status 0 when every chain holds, 1 when any is broken, 2 on an error.",
    )
    cmd.add_argument(
        "--node", metavar="NODE_ID", help="verify only this node's chain (default: every node)"
    )
    cmd.set_defaults(name="audit-verify")
