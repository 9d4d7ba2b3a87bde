"""The ``prep-tui`` command line: open the staff terminal against an edge.

The edge's URL comes from ``--edge``, else ``PREP_TUI_EDGE``, else the demo edge on
``http://127.0.0.1:8700``. Exit status 0 when the terminal is closed, 1 when ``--wait`` ran out
before the edge was ready, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tui.app import DEFAULT_POLL_SECONDS, StaffApp, system_clock
from tui.client import EdgeClient

PROG = "prep-tui"
DEFAULT_EDGE = "http://127.0.0.1:8700"
EDGE_VARIABLE = "PREP_TUI_EDGE"
READY_POLL_SECONDS = 0.25


def main(argv: list[str] | None = None) -> int:
    """Run ``prep-tui`` with ``argv`` (default: the process arguments); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    edge = (args.edge or os.environ.get(EDGE_VARIABLE) or DEFAULT_EDGE).rstrip("/")
    parts = urlsplit(edge)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"--edge must be an http:// or https:// URL, not {edge!r}")
    if args.poll <= 0 or args.timeout <= 0 or args.wait < 0:
        parser.error("--poll and --timeout must be positive, --wait not negative")
    if args.wait and not wait_until_ready(edge, args.wait):
        print(f"{PROG}: the edge at {edge} was not ready within {args.wait:g} s", file=sys.stderr)
        return 1
    asyncio.run(_run(edge, args.packet_dir, args.poll, args.timeout))
    return 0


def wait_until_ready(edge: str, seconds: float) -> bool:
    """Poll the edge's ``/health/ready`` until it answers 200; False after ``seconds``."""
    deadline = time.monotonic() + seconds
    print(f"{PROG}: waiting for the edge at {edge} ...", file=sys.stderr, flush=True)
    with httpx.Client(base_url=edge, timeout=READY_POLL_SECONDS) as http:
        while time.monotonic() < deadline:
            try:
                if http.get("/health/ready").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(READY_POLL_SECONDS)
    return False


async def _run(edge: str, packet_dir: Path, poll: float, timeout: float) -> None:
    async with httpx.AsyncClient(base_url=edge, timeout=timeout) as http:
        app = StaffApp(
            edge=EdgeClient(http, system_clock),
            clock=system_clock,
            packet_dir=packet_dir,
            poll_seconds=poll,
        )
        await app.run_async()


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``prep-tui``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Prep staff terminal: schedule, check-in, verdicts, documents, sync.",
    )
    parser.add_argument(
        "--edge",
        metavar="URL",
        help=f"the edge API's base URL (default: ${EDGE_VARIABLE}, else {DEFAULT_EDGE})",
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="first wait up to SECONDS for the edge to be ready (default: 0, open at once)",
    )
    parser.add_argument(
        "--packet-dir",
        metavar="DIR",
        type=Path,
        default=Path.cwd(),
        help="folder the inspector packet (p) is written to (default: the current folder)",
    )
    parser.add_argument(
        "--poll",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_POLL_SECONDS,
        help="how often the status bar asks the edge, and retries a lost edge (default: 5)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="how long to wait for the edge to answer one request (default: 10)",
    )
    return parser
