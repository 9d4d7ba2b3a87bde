"""The merge rules: examples for each rule, and properties that make replicas agree.

Whatever order two replicas see the same updates in, they must end in the same state; the
properties below check that each rule is symmetric (or commutative), associative and idempotent.
"""

from __future__ import annotations

import itertools
from functools import reduce
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.hlc import Stamp
from sync.merge import (
    ACTIVE_STATUSES,
    KEEPER_RULES,
    STATUS_RANK,
    BookingClaim,
    keeper,
    keeper_rule,
    lww_merge,
    may_write,
    merge_status,
    writable_by,
)
from sync.vocabulary import ACTIVE_BOOKING_STATUSES, BookingStatus

CHECKED = settings(max_examples=300, deadline=None)
SLOT = ("resource_id", "starts_at", "ends_at")


def stamp(wall: int, counter: int = 0, node: str = "edge-a") -> str:
    return Stamp(wall, counter, node).encode()


# --- status ----------------------------------------------------------------------------------

statuses = st.sampled_from(sorted(STATUS_RANK))


def test_every_booking_status_has_a_rank() -> None:
    assert set(STATUS_RANK) == {s.value for s in BookingStatus}
    assert {"hold", "confirmed", "checked_in"} == ACTIVE_STATUSES == ACTIVE_BOOKING_STATUSES


@pytest.mark.parametrize(
    ("current", "incoming", "merged"),
    [
        ("hold", "confirmed", "confirmed"),
        ("confirmed", "hold", "confirmed"),  # never backwards
        ("checked_in", "confirmed", "checked_in"),
        ("checked_out", "cancelled", "cancelled"),  # cancel wins
        ("cancelled", "checked_in", "cancelled"),
        ("conflict", "checked_in", "checked_in"),
        ("no_show", "checked_out", "checked_out"),  # equal rank: the renter did show up
        ("checked_out", "no_show", "checked_out"),
    ],
)
def test_status_moves_forward_only(current: str, incoming: str, merged: str) -> None:
    assert merge_status(current, incoming) == merged


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown booking status"):
        merge_status("confirmed", "paid")


@CHECKED
@given(a=statuses, b=statuses, c=statuses)
def test_status_merge_is_commutative_associative_idempotent(a: str, b: str, c: str) -> None:
    assert merge_status(a, b) == merge_status(b, a)
    assert merge_status(merge_status(a, b), c) == merge_status(a, merge_status(b, c))
    assert merge_status(a, a) == a
    assert STATUS_RANK[merge_status(a, b)] == max(STATUS_RANK[a], STATUS_RANK[b])


# --- keeper ----------------------------------------------------------------------------------


def claim(booking_id: str = "b1", **fields: Any) -> BookingClaim:
    base: dict[str, Any] = {
        "node_id": "edge-a",
        "status": "confirmed",
        "paid": False,
        "confirmed_hlc": stamp(1000),
    }
    return BookingClaim(booking_id=booking_id, **{**base, **fields})


@pytest.mark.parametrize(
    ("winner", "loser", "rule"),
    [
        (
            claim("b9", status="checked_in"),
            claim("b1", paid=True, confirmed_hlc=stamp(1)),
            "checked_in",
        ),
        (claim("b9", status="checked_out"), claim("b1", paid=True), "checked_in"),
        (
            claim("b9", paid=True, confirmed_hlc=stamp(9000)),
            claim("b1", confirmed_hlc=stamp(1)),
            "paid",
        ),
        (claim("b9", confirmed_hlc=stamp(999), node_id="z"), claim("b1"), "earlier_confirmation"),
        (claim("b9", node_id="z"), claim("b1", confirmed_hlc=None), "earlier_confirmation"),
        (claim("b9", node_id="edge-a"), claim("b1", node_id="edge-b"), "lower_node_id"),
        (claim("b1", status="hold"), claim("b2", status="hold"), "lower_booking_id"),
    ],
)
def test_each_keeper_rule_decides(winner: BookingClaim, loser: BookingClaim, rule: str) -> None:
    assert keeper(winner, loser) is winner
    assert keeper(loser, winner) is winner
    assert keeper_rule(winner, loser) == keeper_rule(loser, winner) == rule


def test_the_rules_are_named_in_order() -> None:
    assert KEEPER_RULES == (
        "checked_in",
        "paid",
        "earlier_confirmation",
        "lower_node_id",
        "lower_booking_id",
    )


def test_the_confirmation_stamp_orders_by_counter_and_node_too() -> None:
    earlier = claim("b9", confirmed_hlc=stamp(5, 2, "edge-z"))
    assert keeper(claim("b1", confirmed_hlc=stamp(5, 10, "edge-a")), earlier) is earlier
    tied_wall = claim("b9", confirmed_hlc=stamp(5, 2, "edge-a"))
    assert keeper(claim("b1", confirmed_hlc=stamp(5, 2, "edge-b")), tied_wall) is tied_wall


def test_a_booking_does_not_collide_with_itself() -> None:
    with pytest.raises(ValueError, match="itself"):
        keeper(claim("b1"), claim("b1", paid=True))


claims = st.builds(
    BookingClaim,
    booking_id=st.text("abc", min_size=1, max_size=3),
    node_id=st.sampled_from(["edge-a", "edge-b", "hub"]),
    status=statuses,
    paid=st.booleans(),
    confirmed_hlc=st.none() | st.builds(stamp, st.integers(0, 3), st.integers(0, 2)),
)


@CHECKED
@given(a=claims, b=claims, c=claims)
def test_keeper_is_symmetric_and_a_total_order(
    a: BookingClaim, b: BookingClaim, c: BookingClaim
) -> None:
    if len({a.booking_id, b.booking_id, c.booking_id}) < 3:
        return
    assert keeper(a, b) == keeper(b, a) in (a, b)
    assert keeper_rule(a, b) == keeper_rule(b, a) in KEEPER_RULES
    winners = {reduce(keeper, order) for order in itertools.permutations([a, b, c])}
    assert len(winners) == 1


# --- ownership -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "field", "side", "allowed"),
    [
        ("document", "review_status", "hub", True),
        ("document", "review_status", "edge", False),
        ("document", "review_note", "edge", False),
        ("document", "number", "edge", True),
        ("document", "number", "hub", True),
        ("site", "name", "edge", True),
        ("site", "name", "hub", False),
        ("site", "profile", "hub", False),
        ("site", "id", "hub", True),
        ("renter", "name", "hub", True),
    ],
)
def test_field_ownership(entity: str, field: str, side: Any, allowed: bool) -> None:
    assert may_write(entity, field, side) is allowed


# --- last writer wins ------------------------------------------------------------------------

DOC = {"id": "d1", "number": "A-1", "review_status": "pending"}
DOC_STAMPS = {"id": stamp(10), "number": stamp(10), "review_status": stamp(10)}


def test_the_newer_field_wins_and_the_older_is_ignored() -> None:
    merged, stamps = lww_merge(DOC, DOC_STAMPS, {"number": "A-2"}, stamp(11))
    assert merged == {**DOC, "number": "A-2"}
    assert stamps == {**DOC_STAMPS, "number": stamp(11)}
    assert lww_merge(DOC, DOC_STAMPS, {"number": "A-0"}, stamp(9)) == (DOC, DOC_STAMPS)


def test_the_inputs_are_not_modified() -> None:
    current, stamps = dict(DOC), dict(DOC_STAMPS)
    lww_merge(current, stamps, {"number": "A-2", "issuer": "SF DPH"}, stamp(11))
    assert (current, stamps) == (DOC, DOC_STAMPS)


def test_a_field_the_side_does_not_own_is_ignored() -> None:
    incoming = {"number": "A-2", "review_status": "approved"}
    merged, stamps = lww_merge(
        DOC, DOC_STAMPS, incoming, stamp(11), writable=writable_by("document", "edge")
    )
    assert merged == {**DOC, "number": "A-2"}
    assert stamps["review_status"] == stamp(10)
    by_hub, _ = lww_merge(
        DOC, DOC_STAMPS, incoming, stamp(11), writable=writable_by("document", "hub")
    )
    assert by_hub["review_status"] == "approved"


BOOKING = {"resource_id": "r1", "starts_at": "T14", "ends_at": "T16", "note": "x"}
BOOKING_STAMPS = {
    "resource_id": stamp(20),
    "starts_at": stamp(20),
    "ends_at": stamp(20),
    "note": stamp(5),
}


def test_a_register_moves_all_or_nothing() -> None:
    newer = {"resource_id": "r2", "starts_at": "T15", "ends_at": "T17"}
    merged, stamps = lww_merge(BOOKING, BOOKING_STAMPS, newer, stamp(21), registers=[SLOT])
    assert merged == {**BOOKING, **newer}
    assert all(stamps[f] == stamp(21) for f in SLOT)
    older = {**newer, "note": "y"}
    merged, stamps = lww_merge(BOOKING, BOOKING_STAMPS, older, stamp(19), registers=[SLOT])
    assert merged == {**BOOKING, "note": "y"}  # the note is newer; the slot is not
    assert stamps["resource_id"] == stamp(20)


def test_a_register_takes_its_newest_field_stamp() -> None:
    skewed = {**BOOKING_STAMPS, "ends_at": stamp(30)}
    newer = {"resource_id": "r2", "starts_at": "T15", "ends_at": "T17"}
    merged, _ = lww_merge(BOOKING, skewed, newer, stamp(25), registers=[SLOT])
    assert merged == BOOKING


def test_part_of_a_register_is_refused() -> None:
    with pytest.raises(ValueError, match="moves as one"):
        lww_merge(BOOKING, BOOKING_STAMPS, {"starts_at": "T15"}, stamp(21), registers=[SLOT])


def test_a_register_with_a_field_the_side_may_not_write_is_ignored() -> None:
    newer = {"resource_id": "r2", "starts_at": "T15", "ends_at": "T17"}
    merged, _ = lww_merge(
        BOOKING,
        BOOKING_STAMPS,
        newer,
        stamp(21),
        registers=[SLOT],
        writable=lambda f: f != "ends_at",
    )
    assert merged == BOOKING


def test_a_field_in_two_registers_is_refused() -> None:
    with pytest.raises(ValueError, match="at most one register"):
        lww_merge({}, {}, {}, stamp(1), registers=[SLOT, ("ends_at", "note")])


def test_equal_stamps_settle_by_value_whichever_comes_first() -> None:
    a, b = {"note": "apple"}, {"note": "pear"}
    first, _ = lww_merge(*lww_merge({}, {}, a, stamp(7)), b, stamp(7))
    second, _ = lww_merge(*lww_merge({}, {}, b, stamp(7)), a, stamp(7))
    assert first == second == {"note": "pear"}


FIELDS = ["note", "name", *SLOT]
updates = st.lists(
    st.tuples(
        st.builds(stamp, st.integers(0, 4), st.integers(0, 1), st.sampled_from(["edge-a", "hub"])),
        st.fixed_dictionaries(
            {},
            optional={
                "note": st.sampled_from(["a", "b", None]),
                "name": st.integers(0, 2),
                "slot": st.tuples(
                    st.sampled_from(["r1", "r2"]), st.integers(0, 3), st.integers(4, 6)
                ),
            },
        ),
    ),
    max_size=6,
)


def hub_owns_name_from(at: str) -> Any:
    """Ownership that varies by update: late updates (the hub's, say) may not write ``name``."""
    return lambda field: field != "name" or at < stamp(4)


def apply_all(updates: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    record: dict[str, Any] = {}
    stamps: dict[str, str] = {}
    for at, update in updates:
        fields = {k: v for k, v in update.items() if k != "slot"}
        if "slot" in update:
            fields.update(zip(SLOT, update["slot"], strict=True))
        record, stamps = lww_merge(
            record,
            stamps,
            fields,
            at,
            registers=[SLOT],
            writable=hub_owns_name_from(at),
        )
    return record, stamps


@CHECKED
@given(updates=updates, data=st.data())
def test_lww_gives_one_result_for_any_order(
    updates: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(updates))
    assert apply_all(shuffled) == apply_all(updates)


@CHECKED
@given(updates=updates)
def test_lww_is_idempotent(updates: list[tuple[str, dict[str, Any]]]) -> None:
    assert apply_all(updates + updates) == apply_all(updates)


@CHECKED
@given(updates=updates)
def test_lww_keeps_the_register_whole(updates: list[tuple[str, dict[str, Any]]]) -> None:
    record, stamps = apply_all(updates)
    slots = [tuple(u["slot"]) for _, u in updates if "slot" in u]
    if slots:
        assert tuple(record[f] for f in SLOT) in slots
        assert len({stamps[f] for f in SLOT}) == 1
