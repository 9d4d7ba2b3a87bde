"""Snapshots of the main screens at 80x24 and 120x40, compared as text with committed files.

The clock is fixed (Wednesday 5 November 2025, 08:00 in San Francisco) and so are the data and
the booking ids, so each screen draws the same characters every run. After an intended change,
rewrite the baselines and review the diff:

    PREP_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/tui/test_snapshots.py

(pytest-textual-snapshot would pin pytest below 9 through syrupy, hence plain text files.)
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from litestar import Litestar
from textual.pilot import Pilot
from textual.widgets import Select

from tests.tui.driving import fill, screen_text, settle, sign_in
from tests.tui.fixtures import HOST, STAFF, Kitchen, Terminal, open_conflict

BASELINES = Path(__file__).parent / "snapshots"
SIZES = ((80, 24), (120, 40))
UPDATE = os.environ.get("PREP_UPDATE_SNAPSHOTS") == "1"


async def assert_snapshots(pilot: Pilot[None], name: str) -> None:
    """The screen at each size equals ``snapshots/NAME_WxH.txt``."""
    for width, height in SIZES:
        await pilot.resize_terminal(width, height)
        await settle(pilot)
        drawn = screen_text(pilot)
        baseline = BASELINES / f"{name}_{width}x{height}.txt"
        if UPDATE:
            baseline.write_text(drawn, encoding="utf-8")
        assert baseline.exists(), f"no baseline {baseline.name}: run with PREP_UPDATE_SNAPSHOTS=1"
        expected = baseline.read_text(encoding="utf-8")
        diff = difflib.unified_diff(
            expected.splitlines(), drawn.splitlines(), baseline.name, "drawn", lineterm=""
        )
        assert drawn == expected, "\n".join(diff)


async def test_sign_in(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await settle(pilot)
        await assert_snapshots(pilot, "sign_in")


async def test_today(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await assert_snapshots(pilot, "today")


async def test_booking_with_a_deny_verdict(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("enter")  # the first selection: Startup Foods, on next
        await assert_snapshots(pilot, "booking_deny")


async def test_check_in_search(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("c")
        await settle(pilot)
        await fill(pilot, "bakery", "find")
        await assert_snapshots(pilot, "check_in")


async def test_walk_in_clash(kitchen: Kitchen, terminal: Terminal) -> None:
    app = terminal()
    async with app.run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("w")
        await settle(pilot)
        app.screen.query_one("#renter", Select).value = kitchen.seeded.renter_id
        app.screen.query_one("#station", Select).value = kitchen.seeded.resource_id
        await fill(pilot, "11:00", "start")
        await pilot.press("enter")
        await assert_snapshots(pilot, "walk_in_clash")


async def test_documents(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("d")
        await assert_snapshots(pilot, "documents")


async def test_conflicts(kitchen: Kitchen, terminal: Terminal, app: Litestar) -> None:
    await open_conflict(app.state.services, kitchen)
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, HOST)
        await pilot.press("x")
        await assert_snapshots(pilot, "conflicts")


async def test_help(kitchen: Kitchen, terminal: Terminal) -> None:
    async with terminal().run_test(size=SIZES[0]) as pilot:
        await sign_in(pilot, STAFF)
        await pilot.press("question_mark")
        await assert_snapshots(pilot, "help")
