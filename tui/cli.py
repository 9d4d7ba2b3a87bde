"""The ``prep-tui`` command line: start the staff terminal against an edge.

In this release it parses its arguments and then reports that it is not available yet (exit
status 2).
"""

from __future__ import annotations

import argparse
import sys

PROG = "prep-tui"
NOT_AVAILABLE = "not available yet in this release (see README)"


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-tui`` with ``argv`` (default: the process arguments); return the exit status."""
    build_parser().parse_args(argv)
    print(f"{PROG}: {NOT_AVAILABLE}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``prep-tui``."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="The Prep staff terminal: schedule, check-in, verdicts, sync."
    )
    parser.add_argument(
        "--edge", metavar="URL", help="the edge API's base URL (default: from settings)"
    )
    return parser
