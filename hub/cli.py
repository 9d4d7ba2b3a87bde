"""The ``prep-hub`` command line: migrate, run and administer the central hub.

The commands and their options are fixed by CONTRACT.md; in this release they parse their
arguments and then report that they are not available yet (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TypeAlias

PROG = "prep-hub"
NOT_AVAILABLE = "not available yet in this release (see README)"

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-hub`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    print(f"{PROG} {args.name}: {NOT_AVAILABLE}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``prep-hub`` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run and administer the Prep hub. The database is PREP_HUB_DATABASE_URL.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_migrate_serve(commands)
    _add_admin(commands)
    _add_enroll_token(commands)
    _add_publish_refdb(commands)
    return parser


def _add_migrate_serve(commands: _Commands) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema",
        description="Run the Alembic migrations up to the latest revision.",
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
        help="create the first admin",
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
        description="Issue a one-time enrolment token for a site's edge, printed alone on stdout.",
    )
    cmd.add_argument("--site-name", required=True, metavar="NAME", help="the site to enrol")
    cmd.set_defaults(name="enroll-token")


def _add_publish_refdb(commands: _Commands) -> None:
    cmd = commands.add_parser(
        "publish-refdb",
        help="publish a signed reference bundle to the fleet",
        description="Publish a reference bundle built and signed by 'prep-refdb build'.",
    )
    cmd.add_argument("file", type=Path, metavar="FILE", help="the bundle's SQLite file")
    cmd.set_defaults(name="publish-refdb")
