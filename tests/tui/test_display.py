"""Money, codes, local times and expiry badges as the terminal writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tui.display import (
    BadgeLevel,
    booking_code,
    expiry_badge,
    matches_code,
    moment,
    money,
    span,
    valid_through,
)

SF = ZoneInfo("America/Los_Angeles")
NOW = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)  # 08:00 in San Francisco


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (123456, "$1,234.56"), (-2500, "-$25.00")],
)
def test_money_is_formatted_from_integer_cents(cents: int, text: str) -> None:
    assert money(cents) == text


def test_a_booking_code_is_the_random_end_of_the_id_and_finds_it() -> None:
    booking_id = "019a54bf-1400-7111-9111-1111118a2f3c"
    assert booking_code(booking_id) == "8A2F3C"
    assert matches_code("8a2f3c", booking_id)
    assert matches_code("8A2-F3C", booking_id)
    assert not matches_code("8a", booking_id)  # too short to mean anything
    assert not matches_code("ffffff", booking_id)


def test_times_are_shown_in_the_site_zone() -> None:
    assert span(NOW, NOW + timedelta(hours=2), SF) == "08:00-10:00"
    assert span(NOW, NOW + timedelta(hours=20), SF) == "08:00-Thu 6 Nov 04:00"
    assert moment(NOW, SF, NOW) == "08:00"
    assert moment(NOW - timedelta(days=1), SF, NOW) == "4 Nov 08:00"
    assert moment(None, SF, NOW) == "never"


def test_an_expiry_at_midnight_is_valid_through_the_day_before() -> None:
    assert valid_through(datetime(2025, 11, 26, tzinfo=SF), SF).isoformat() == "2025-11-25"
    assert valid_through(datetime(2025, 11, 26, 12, tzinfo=SF), SF).isoformat() == "2025-11-26"


@pytest.mark.parametrize(
    ("expires", "text", "level"),
    [
        (None, "-", BadgeLevel.NONE),
        (NOW - timedelta(seconds=1), "EXPIRED", BadgeLevel.EXPIRED),
        (NOW + timedelta(hours=3), "TODAY", BadgeLevel.SOON),
        (NOW + timedelta(days=30), "30 DAYS", BadgeLevel.SOON),
        (NOW + timedelta(days=31), "ok", BadgeLevel.OK),
    ],
)
def test_expiry_badges(expires: datetime | None, text: str, level: BadgeLevel) -> None:
    badge = expiry_badge(expires, NOW, SF)
    assert (badge.text, badge.level) == (text, level)
