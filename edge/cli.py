"""The ``prep-edge`` command line: set up, run, enrol, sync, verify and back up an edge node.

The commands and their options are fixed by CONTRACT.md; in this release they parse their
arguments and then report that they are not available yet (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TypeAlias

PROG = "prep-edge"
NOT_AVAILABLE = "not available yet in this release (see README)"

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-edge`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    print(f"{PROG} {args.name}: {NOT_AVAILABLE}", file=sys.stderr)
    return 2


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
    cmd.add_argument("--once", action="store_true", help="run one push and pull, then stop")
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
        "--out", type=Path, metavar="FILE", help="backup file (default: in the data directory)"
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
