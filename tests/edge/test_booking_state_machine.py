"""A hypothesis state machine of random bookings and moves: no two active bookings ever overlap.

Operations run through the booking services (the same code the handlers call) on a fresh node
per run: create (hold or confirmed, two resources, overlapping times on purpose), confirm,
cancel, check in (as a host, overriding a refusal), check out, and the clock moving on so holds
expire lazily. After every step the database is read raw and checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edge.booking_flow import move
from edge.bookings import create_booking
from edge.clock import FixedClock
from edge.errors import EdgeError
from edge.journal import Actor
from edge.runtime import open_services
from edge.settings import EdgeSettings
from sync.shapes.bookings import BookingCreate
from sync.vocabulary import Role
from tests.edge.conftest import START
from tests.edge.seed import Seeded, seed

HOST = Actor("host-id", "host", Role.HOST)
DAY_START = START + timedelta(hours=2)  # 10:00 PST on the fixed day
MOVES = ("confirm", "cancel", "check_in", "check_out")


class Bookings(RuleBasedStateMachine):
    template: Path  # set by the test below

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="prep-sm-"))
        shutil.copytree(self.template, self.folder / "node")
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(START)
        self.settings = EdgeSettings.load(self.folder / "node", jobs={"enabled": False})
        self.opened = open_services(self.settings, self.clock)
        self.services = self.loop.run_until_complete(self.opened.__aenter__())
        self.seeded: Seeded = self.loop.run_until_complete(seed(self.services))
        self.ids: list[str] = []

    def teardown(self) -> None:
        self.loop.run_until_complete(self.opened.__aexit__(None, None, None))
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(
        resource=st.integers(0, 1),
        slot=st.integers(0, 16),
        halves=st.integers(4, 12),
        hold=st.booleans(),
    )
    def create(self, resource: int, slot: int, halves: int, hold: bool) -> None:
        start = DAY_START + timedelta(minutes=30 * slot)
        data = BookingCreate(
            resource_id=(self.seeded.resource_id, self.seeded.other_resource_id)[resource],
            renter_id=self.seeded.renter_id,
            start=start,
            end=start + timedelta(minutes=30 * halves),
            status="hold" if hold else "confirmed",
        )
        try:
            booking, _ = self.loop.run_until_complete(create_booking(self.services, HOST, data))
        except EdgeError:
            return
        self.ids.append(booking.id)

    @precondition(lambda self: bool(self.ids))
    @rule(pick=st.integers(0, 10_000), action=st.sampled_from(MOVES))
    def move(self, pick: int, action: str) -> None:
        booking_id = self.ids[pick % len(self.ids)]
        with contextlib.suppress(EdgeError):  # refused moves are part of the game
            self.loop.run_until_complete(
                move(self.services, HOST, booking_id, action, "host decided")
            )

    @rule(minutes=st.integers(1, 40))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def no_two_active_bookings_overlap(self) -> None:
        now = self.clock.now()
        with sqlite3.connect(self.settings.database_path) as raw:
            rows = raw.execute(
                "SELECT resource_id, starts_at, ends_at, status, hold_expires_at FROM booking"
            ).fetchall()
        active = [
            (r, datetime.fromisoformat(s), datetime.fromisoformat(e))
            for r, s, e, status, expires in rows
            if status in ("confirmed", "checked_in")
            or (status == "hold" and datetime.fromisoformat(expires) > now)
        ]
        for i, (res_a, start_a, end_a) in enumerate(active):
            for res_b, start_b, end_b in active[i + 1 :]:
                assert not (res_a == res_b and start_a < end_b and start_b < end_a)


def test_no_two_active_bookings_ever_overlap(template_node: tuple[Path, object]) -> None:
    Bookings.template = template_node[0]
    runner = Bookings.TestCase
    runner.settings = settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    runner().runTest()
