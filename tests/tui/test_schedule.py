"""The timeline's arithmetic: the day in the site's zone, cells, the now-line, moving around."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sync.shapes.bookings import BookingOut
from sync.shapes.site import ResourceOut
from tui import schedule
from tui.schedule import Cursor

SF = ZoneInfo("America/Los_Angeles")
DAY = date(2025, 11, 5)
NOW = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)  # 08:00 local


def station(n: int, active: bool = True) -> ResourceOut:
    return ResourceOut(
        id=f"r{n}", site_id="s", name=f"Station {n}", kind="station",
        hourly_rate_cents=3000, active=active, created_at=NOW,
    )  # fmt: skip


def booking(key: str, resource: int, start: int, end: int, status: str = "confirmed") -> BookingOut:
    """A booking on ``DAY`` from ``start`` to ``end`` o'clock, local."""
    begins = datetime(2025, 11, 5, start, tzinfo=SF)
    ends = datetime(2025, 11, 5, end, tzinfo=SF) if end < 24 else begins.replace(hour=23, minute=59)
    return BookingOut(
        id=key, site_id="s", resource_id=f"r{resource}", renter_id="renter",
        start=begins, end=ends, local_start="", local_end="", status=status,
        price_cents=0, quote={}, created_at=NOW,
    )  # fmt: skip


def test_a_local_day_has_23_or_25_hours_across_daylight_saving_changes() -> None:
    start, end = schedule.day_bounds(date(2025, 11, 2), SF)  # clocks go back
    assert schedule.minutes_between(start, end) == 25 * 60
    start, end = schedule.day_bounds(date(2025, 3, 9), SF)  # clocks go forward
    assert schedule.minutes_between(start, end) == 23 * 60


def test_the_window_widens_to_early_and_late_bookings() -> None:
    assert schedule.day_window(DAY, SF, []).start.hour == schedule.FIRST_HOUR
    window = schedule.day_window(DAY, SF, [booking("a", 1, 4, 5), booking("b", 1, 21, 23)])
    assert (window.start.hour, window.end.hour) == (4, 23)


def test_lanes_leave_out_cancelled_bookings_and_idle_retired_stations() -> None:
    lanes = schedule.lanes(
        [station(1), station(2, active=False), station(3, active=False)],
        [booking("a", 1, 9, 10, "cancelled"), booking("b", 2, 9, 10)],
    )
    assert [(lane.resource.id, [b.id for b in lane.bookings]) for lane in lanes] == [
        ("r1", []),
        ("r2", ["b"]),
    ]


def test_cells_and_the_now_line() -> None:
    window = schedule.day_window(DAY, SF, [])  # 06:00-22:00: 16 h on 64 cells, 4 a hour
    lane = schedule.lanes([station(1)], [booking("a", 1, 9, 11)])[0]
    painted = schedule.paint(lane, window, 64)
    assert [i for i, cell in enumerate(painted) if cell == 0] == list(range(12, 20))
    assert schedule.cell_of(window, 64, NOW) == 8
    assert schedule.cell_of(window, 64, NOW - timedelta(hours=3)) is None


def test_a_booking_that_holds_its_slot_is_drawn_over_one_that_does_not() -> None:
    window = schedule.day_window(DAY, SF, [])
    lane = schedule.lanes(
        [station(1)], [booking("keeper", 1, 9, 11), booking("loser", 1, 9, 11, "conflict")]
    )[0]
    painted = schedule.paint(lane, window, 64)
    assert {lane.bookings[i].id for i in painted if i is not None} == {"keeper"}


def test_arrow_moves_follow_lanes_and_time() -> None:
    lanes = schedule.lanes(
        [station(1), station(2), station(3)],
        [booking("a", 1, 9, 10), booking("b", 1, 13, 14), booking("c", 2, 12, 15)],
    )
    cursor = schedule.first_cursor(lanes, NOW)
    assert schedule.selected(lanes, cursor).id == "a"
    cursor = schedule.step_sideways(lanes, cursor, 1)
    assert schedule.selected(lanes, cursor).id == "b"
    assert schedule.step_sideways(lanes, cursor, 1) == cursor  # stays at the end
    cursor = schedule.step_lanes(lanes, cursor, 1)
    assert schedule.selected(lanes, cursor).id == "c"
    cursor = schedule.step_lanes(lanes, cursor, 1)
    assert cursor == Cursor(2, None)  # an empty lane selects nothing
    assert schedule.selected(lanes, schedule.step_lanes(lanes, cursor, -1)).id == "c"


def test_the_first_selection_is_what_is_on_now_or_next() -> None:
    lanes = schedule.lanes([station(1)], [booking("past", 1, 6, 7), booking("next", 1, 9, 10)])
    assert schedule.selected(lanes, schedule.first_cursor(lanes, NOW)).id == "next"
