"""Calendar arithmetic (blocks, buffers, seasons, free slots) and the federal authority chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reference_db.calendar_rules import Block, Clash, clash, free_slots, in_season, local_dates
from reference_db.federal import certifiers_for, check_chain, scope_for_activity
from reference_db.localtime import to_utc
from reference_db.rulebook import RuleBook

LA = ZoneInfo("America/Los_Angeles")


def _utc(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text), LA)


def test_a_block_clashes_by_overlap_or_by_buffer() -> None:
    block = Block(
        _utc("2025-11-15T12:00"),
        _utc("2025-11-15T13:00"),
        timedelta(hours=2),
        timedelta(minutes=30),
    )
    assert clash(_utc("2025-11-15T12:30"), _utc("2025-11-15T14:00"), block) is Clash.OVERLAP
    assert clash(_utc("2025-11-15T09:00"), _utc("2025-11-15T10:30"), block) is Clash.BUFFER
    assert clash(_utc("2025-11-15T09:00"), _utc("2025-11-15T10:00"), block) is None
    assert clash(_utc("2025-11-15T13:30"), _utc("2025-11-15T15:00"), block) is None


def test_seasons_may_wrap_the_new_year() -> None:
    assert in_season(date(2025, 12, 31), (11, 1), (3, 31))
    assert in_season(date(2026, 1, 1), (11, 1), (3, 31))
    assert not in_season(date(2026, 4, 1), (11, 1), (3, 31))
    assert in_season(date(2025, 6, 1), (6, 1), (10, 31))
    assert not in_season(date(2025, 11, 1), (6, 1), (10, 31))


def test_local_dates_of_an_overnight_booking() -> None:
    assert local_dates(_utc("2025-11-15T23:00"), _utc("2025-11-16T07:00"), LA) == [
        date(2025, 11, 15),
        date(2025, 11, 16),
    ]
    assert local_dates(_utc("2025-11-15T10:00"), _utc("2025-11-16T00:00"), LA) == [
        date(2025, 11, 15)
    ]


def test_free_slots_skip_buffered_blocks_and_short_gaps() -> None:
    busy = [
        Block(_utc("2025-11-15T09:00"), _utc("2025-11-15T11:00")),
        Block(
            _utc("2025-11-15T14:00"),
            _utc("2025-11-15T15:00"),
            timedelta(hours=1),
            timedelta(minutes=30),
        ),
        Block(_utc("2025-11-15T16:00"), _utc("2025-11-15T16:45")),
    ]
    slots = free_slots(date(2025, 11, 15), LA, time(6), time(22), busy, timedelta(hours=1))
    local = [
        (s.astimezone(LA).strftime("%H:%M"), e.astimezone(LA).strftime("%H:%M")) for s, e in slots
    ]
    assert local == [("06:00", "09:00"), ("11:00", "13:00"), ("16:45", "22:00")]


def test_free_slots_on_the_day_clocks_go_back_have_25_hours() -> None:
    slots = free_slots(date(2025, 11, 2), LA, time(0), time(0), [], timedelta(hours=1))
    assert [(e - s) for s, e in slots] == [timedelta(hours=25)]


def test_a_wall_time_in_the_spring_gap_is_placed_at_the_jump() -> None:
    assert to_utc(datetime.fromisoformat("2025-03-09T02:30"), LA) == datetime(
        2025, 3, 9, 10, 0, tzinfo=UTC
    )
    assert to_utc(datetime.fromisoformat("2025-11-02T01:30"), LA) == datetime(
        2025, 11, 2, 8, 30, tzinfo=UTC
    )


def test_activity_maps_to_scope(book: RuleBook) -> None:
    scope = scope_for_activity(book.federal, "seafood")
    assert scope is not None
    assert (scope.code, scope.cfr_citation) == ("SEAFOOD_HACCP", "21 CFR 123")
    assert scope_for_activity(book.federal, "astrology") is None


def test_certifiers_follow_recognition_dates(book: RuleBook) -> None:
    before = {
        c.certification_body for c in certifiers_for(book.federal, "seafood", date(2025, 11, 5))
    }
    after = {
        c.certification_body for c in certifiers_for(book.federal, "seafood", date(2026, 10, 1))
    }
    assert "DEKRA Certification Inc." in before
    assert "DEKRA Certification Inc." not in after  # its recognition ran to 2026-09-25
    assert "Intertek USA Inc." in after


def test_chain_check_explains_why(book: RuleBook) -> None:
    seafood = book.federal.scope_by_code("seafood_haccp")
    assert seafood is not None
    assert check_chain(book.federal, 4, seafood, date(2025, 11, 5)).valid
    lapsed = check_chain(book.federal, 4, seafood, date(2026, 9, 25))
    assert (lapsed.valid, lapsed.reason) == (False, "accreditation expired 2026-09-25")
    assert "not accredited" in check_chain(book.federal, 1, seafood, date(2025, 11, 5)).reason
    assert not check_chain(book.federal, None, seafood, date(2025, 11, 5)).valid
