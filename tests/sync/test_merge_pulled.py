"""A node taking the hub's word on a booking: provisional statuses give way, others move forward."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import LAPSED, STATUS_RANK, pulled_status

statuses = st.sampled_from(sorted(STATUS_RANK))


@pytest.mark.parametrize(
    ("local", "row", "status"),
    [
        ("conflict", {"status": "confirmed"}, "confirmed"),  # the hub gave the slot back
        ("conflict", {"status": "hold"}, "hold"),
        ("conflict", {"status": "cancelled", LAPSED: True}, "cancelled"),  # and it had expired
        ("confirmed", {"status": "conflict"}, "conflict"),  # set aside
        ("confirmed", {"status": "cancelled", LAPSED: True}, "confirmed"),  # confirmed here
        ("checked_in", {"status": "cancelled", LAPSED: True}, "checked_in"),
        ("hold", {"status": "cancelled", LAPSED: True}, "cancelled"),  # nobody confirmed it
        ("confirmed", {"status": "cancelled"}, "cancelled"),  # a real cancel wins
        ("checked_in", {"status": "conflict"}, "checked_in"),
        ("confirmed", {"status": "hold"}, "confirmed"),
    ],
)
def test_the_hubs_word(local: str, row: dict[str, object], status: str) -> None:
    assert pulled_status(local, row) == status


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown booking status"):
        pulled_status("conflict", {"status": "maybe"})


@settings(max_examples=200, deadline=None)
@given(local=statuses, incoming=statuses, lapsed=st.booleans())
def test_only_a_set_aside_booking_moves_backwards(local: str, incoming: str, lapsed: bool) -> None:
    pulled = pulled_status(local, {"status": incoming, LAPSED: lapsed})
    if local != "conflict":
        assert STATUS_RANK[pulled] >= STATUS_RANK[local]


@settings(max_examples=200, deadline=None)
@given(local=statuses)
def test_a_lapse_undoes_nothing_done_since_the_hold(local: str) -> None:
    pulled = pulled_status(local, {"status": "cancelled", LAPSED: True})
    assert pulled == ("cancelled" if local in ("hold", "conflict") else local)
