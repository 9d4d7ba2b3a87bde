"""The ``prep-edge`` command line: set up, run, verify, back up an edge node and add its users.

This module parses; ``edge.commands`` does the work. Bad input or an unusable data directory gets
a one-line error on standard error and exit status 2, never a traceback; ``audit-verify`` exits
1 when the chain is broken; ``sync`` exits 1 when the hub refused or could not be reached.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from sqlalchemy.exc import SQLAlchemyError

from edge import commands as run
from edge.errors import EdgeError
from reference_db.errors import RefDbError

PROG = "prep-edge"
EXIT_BROKEN = 1
EXIT_BAD_INPUT = 2

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace], int]

COMMANDS: dict[str, Command] = {
    "init": run.run_init,
    "serve": run.run_serve,
    "enroll": run.run_enroll,
    "sync": run.run_sync,
    "audit-verify": run.run_audit_verify,
    "backup": run.run_backup,
    "restore": run.run_restore,
    "user add": run.run_user_add,
}


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-edge`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.name](args)
    except run.ChainBroken as exc:
        return _fail(args.name, str(exc), EXIT_BROKEN)
    except (EdgeError, RefDbError) as exc:
        return _fail(args.name, str(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(args.name, f"{exc.strerror or exc}{where}")
    except (sqlite3.Error, SQLAlchemyError) as exc:
        return _fail(args.name, f"database error: {getattr(exc, 'orig', None) or exc}")
    except KeyboardInterrupt:
        print(f"{PROG} {args.name}: interrupted", file=sys.stderr)
        return 130


def _fail(command: str, message: str, status: int = EXIT_BAD_INPUT) -> int:
    first = (message.strip().splitlines() or ["failed"])[0]
    print(f"{PROG} {command}: {first}", file=sys.stderr)
    return status


# --- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``prep-edge`` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Set up, run and look after a Prep edge appliance for one site."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    data_dir = _data_dir_option()
    _add_init(commands, data_dir)
    _add_serve(commands, data_dir)
    _add_enroll(commands, data_dir)
    _add_sync(commands, data_dir)
    _add_audit_verify(commands, data_dir)
    _add_backup_restore(commands, data_dir)
    _add_user(commands, data_dir)
    return parser


def _data_dir_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="the node's data directory (database, keys, reference bundle, blobs)",
    )
    return parent


def _add_init(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "init",
        parents=[data_dir],
        help="create the database, keys, reference data and a first host account",
        description="Create the SQLite database, the node's keys and the bundled reference data, "
        "and a first host account whose one-time password is printed.",
    )
    cmd.add_argument("--site-name", required=True, metavar="NAME", help="the kitchen's name")
    cmd.add_argument(
        "--jurisdiction", required=True, metavar="J", help="jurisdiction id, e.g. san_francisco"
    )
    cmd.add_argument(
        "--timezone", required=True, metavar="TZ", help="IANA time zone, e.g. America/Los_Angeles"
    )
    cmd.set_defaults(name="init")


def _add_serve(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "serve", parents=[data_dir], help="run the edge API", description="Run the edge HTTP API."
    )
    cmd.add_argument("--host", metavar="H", help="address to listen on (default: from settings)")
    cmd.add_argument("--port", type=int, metavar="P", help="port to listen on (default: settings)")
    cmd.set_defaults(name="serve")


def _add_enroll(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "enroll",
        parents=[data_dir],
        help="register this node with a hub",
        description="Register this node and its public key with a hub, using a one-time token.",
    )
    cmd.add_argument("--hub", required=True, metavar="URL", help="the hub's base URL")
    cmd.add_argument("--token", required=True, metavar="T", help="one-time enrolment token")
    cmd.set_defaults(name="enroll")


def _add_sync(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "sync",
        parents=[data_dir],
        help="push then pull now and print a summary",
        description="Push the outbox to the hub, then pull; exit non-zero if the hub refused.",
    )
    cmd.add_argument(
        "--once",
        action="store_true",
        help="run one push and pull, print the summary, then stop (default: keep syncing)",
    )
    cmd.set_defaults(name="sync")


def _add_audit_verify(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "audit-verify",
        parents=[data_dir],
        help="verify the audit hash chain",
        description="Verify the audit log's hash chain; exit 1 and print the first bad sequence.",
    )
    cmd.set_defaults(name="audit-verify")


def _add_backup_restore(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    backup = commands.add_parser(
        "backup",
        parents=[data_dir],
        help="take an online backup of the database",
        description="Copy the live SQLite database with the online backup API.",
    )
    backup.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="directory to write the backup into (default: DIR/backups of the data directory)",
    )
    backup.set_defaults(name="backup")
    restore = commands.add_parser(
        "restore",
        parents=[data_dir],
        help="restore the database from a backup",
        description="Replace the node's database with a backup taken by 'prep-edge backup'.",
    )
    restore.add_argument(
        "--from", dest="source", type=Path, required=True, metavar="FILE", help="backup file"
    )
    restore.set_defaults(name="restore")


def _add_user(commands: _Commands, data_dir: argparse.ArgumentParser) -> None:
    user = commands.add_parser("user", help="manage local users", description="Local users.")
    actions = user.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add = actions.add_parser(
        "add",
        parents=[data_dir],
        help="add a local user",
        description="Add a local user, reading the password from standard input.",
    )
    add.add_argument("--role", required=True, metavar="R", help="the user's role, e.g. staff")
    add.add_argument("--username", required=True, metavar="U", help="login name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(name="user add")
