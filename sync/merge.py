"""The merge rules of sync as pure functions, so edge and hub settle every replica the same way.

- **Booking status** only moves forward (``STATUS_RANK``), and cancel wins. Two of the hub's
  words are provisional, and a node takes the hub's next word over them (``pulled_status``):
  ``conflict`` (the hub decides who waits, and gives the slot back when the keeper leaves it)
  and a *lapse* (the hub letting an expired hold go, marked ``LAPSED`` in its feed row), which a
  confirmation made at the node overrules: a lapse is not a user's cancel.
- **Colliding bookings** are never merged: ``keeper`` picks the one that keeps the slot by
  DESIGN.md's rule (checked in, then paid, then earlier confirmation, then lower node id), the
  caller marks the other ``conflict`` and opens a Conflict record.
- **Mutable records** merge per field, last writer wins by HLC text (``sync.hlc`` stamps sort as
  text), with field ownership (``FIELD_OWNERS``) and registers of fields that move together.

Every rule but ``pulled_status`` is a maximum over a total order, so it gives the same answer
whatever order replicas see the same updates in (commutative, associative, idempotent), which
the property tests check. ``pulled_status`` takes one authority's words in the order it said
them (the hub's feed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sync.vocabulary import BookingStatus as S

Side = Literal["hub", "edge"]

# A booking in one of these states occupies its slot (a hold only while not expired: the caller
# decides, with its own clock, as hold expiry is evaluated lazily).
ACTIVE_STATUSES = frozenset(
    {S.HOLD.value, S.CONFIRMED.value, S.CHECKED_IN.value}
)  # checked out: the station is free again for the rest of the slot (a walk-in may take it)
STATUS_RANK: dict[str, int] = {
    S.HOLD.value: 0,
    S.CONFIRMED.value: 1,
    S.CONFLICT.value: 2,
    S.CHECKED_IN.value: 3,
    S.CHECKED_OUT.value: 4,
    S.NO_SHOW.value: 4,
    S.CANCELLED.value: 5,
}


# Statuses that give the slot back for good: the conflicts such a booking kept are settled.
FREEING_STATUSES = frozenset({S.CHECKED_OUT.value, S.CANCELLED.value, S.NO_SHOW.value})
LAPSED = "lapsed"  # a hub feed row's mark: this ``cancelled`` is the hub letting an expired hold go


def merge_status(current: str, incoming: str) -> str:
    """The further of two statuses; between equal ranks the alphabetically first.

    The tie only happens between ``checked_out`` and ``no_show``, and the alphabetical rule makes
    ``checked_out`` win: someone checked the renter out, so they did show up.
    """
    for status in (current, incoming):
        if status not in STATUS_RANK:
            raise ValueError(f"unknown booking status {status!r}")
    return min(current, incoming, key=lambda status: (-STATUS_RANK[status], status))


def pulled_status(local: str, row: Mapping[str, Any]) -> str:
    """A node's booking status once it takes ``row``, the hub's newest word on the booking.

    A booking set aside (``conflict``) takes the hub's word as it comes: the hub may have given
    it its slot back. A lapse does not undo what the node did since the hold (a confirmation,
    a check-in): the node's push takes the booking back on the hub. Otherwise status moves
    forward and cancel wins (``merge_status``).
    """
    incoming = str(row["status"])
    merged = merge_status(local, incoming)  # refuses an unknown status
    if local == S.CONFLICT.value:
        return incoming
    if row.get(LAPSED) and local != S.HOLD.value:
        return local
    return merged


@dataclass(frozen=True)
class BookingClaim:
    """What the keeper rule reads of one of two colliding bookings."""

    booking_id: str
    node_id: str
    status: str
    paid: bool
    confirmed_hlc: str | None


_CHECKED_IN = frozenset({S.CHECKED_IN.value, S.CHECKED_OUT.value})
# Each rule ranks a claim (lower keeps the slot); the first rule that tells two claims apart wins.
_RULES: tuple[tuple[str, Callable[[BookingClaim], Any]], ...] = (
    ("checked_in", lambda c: c.status not in _CHECKED_IN),
    ("paid", lambda c: not c.paid),
    ("earlier_confirmation", lambda c: (c.confirmed_hlc is None, c.confirmed_hlc or "")),
    ("lower_node_id", lambda c: c.node_id),
    ("lower_booking_id", lambda c: c.booking_id),
)
KEEPER_RULES = tuple(name for name, _ in _RULES)


def keeper(a: BookingClaim, b: BookingClaim) -> BookingClaim:
    """The booking that keeps the slot; the same answer whichever is passed first."""
    _distinct(a, b)
    return min(a, b, key=lambda claim: tuple(rank(claim) for _, rank in _RULES))


def keeper_rule(a: BookingClaim, b: BookingClaim) -> str:
    """The name of the rule (one of ``KEEPER_RULES``) that decides between two bookings."""
    _distinct(a, b)
    return next(name for name, rank in _RULES if rank(a) != rank(b))


def _distinct(a: BookingClaim, b: BookingClaim) -> None:
    if a.booking_id == b.booking_id:
        raise ValueError(f"booking {a.booking_id} cannot collide with itself")


# --- field ownership and last-writer-wins ------------------------------------------------------

# entity -> field -> the only side that may write it; "*" stands for every field not listed.
# A field with no owner is written by both sides. Ids never change, so they are nobody's.
FIELD_OWNERS: dict[str, dict[str, str]] = {
    "document": {
        field: "hub" for field in ("review_status", "reviewed_by", "reviewed_at", "review_note")
    },
    "site": {"*": "edge"},
}
IDENTITY_FIELDS = frozenset({"id"})


def may_write(entity: str, field: str, side: Side) -> bool:
    if field in IDENTITY_FIELDS:
        return True
    owners = FIELD_OWNERS.get(entity, {})
    owner = owners.get(field, owners.get("*"))
    return owner is None or owner == side


def writable_by(entity: str, side: Side) -> Callable[[str], bool]:
    """The ``writable`` test of ``lww_merge`` for updates of ``entity`` coming from ``side``."""
    return lambda field: may_write(entity, field, side)


def _anyone(field: str) -> bool:
    return True


def lww_merge(
    current: Mapping[str, Any],
    current_stamps: Mapping[str, str],
    incoming: Mapping[str, Any],
    incoming_stamp: str,
    *,
    writable: Callable[[str], bool] = _anyone,
    registers: Sequence[Sequence[str]] = (),
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge one stamped update into a record, field by field; returns the record and its stamps.

    A field the incoming side may not write is ignored. The fields of a register are one value:
    an update carries all of them or none (``ValueError`` otherwise), and takes all of them or
    none, by the register's newest stamp. Equal stamps (the same update seen twice, or a forged
    tie) fall back to comparing the values' canonical JSON, so the order of arrival never matters.
    Missing stamps count as older than any. The inputs are not modified.
    """
    merged, stamps = dict(current), dict(current_stamps)
    for unit in _units(incoming, writable, registers):
        mine = (max(stamps.get(f, "") for f in unit), _canonical([merged.get(f) for f in unit]))
        theirs = (incoming_stamp, _canonical([incoming[f] for f in unit]))
        if theirs > mine:
            merged.update({f: incoming[f] for f in unit})
            stamps.update({f: incoming_stamp for f in unit})
    return merged, stamps


def _units(
    incoming: Mapping[str, Any],
    writable: Callable[[str], bool],
    registers: Sequence[Sequence[str]],
) -> list[tuple[str, ...]]:
    """The incoming fields to merge, each alone or with its register."""
    in_register = [field for register in registers for field in register]
    if len(in_register) != len(set(in_register)):
        raise ValueError("a field belongs to at most one register")
    units: list[tuple[str, ...]] = [
        (field,) for field in incoming if field not in in_register and writable(field)
    ]
    for register in registers:
        carried = [field for field in register if field in incoming]
        if carried and len(carried) != len(register):
            raise ValueError(f"register {tuple(register)} moves as one; got only {carried}")
        if carried and all(writable(field) for field in register):
            units.append(tuple(register))
    return units


def _canonical(values: list[Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=repr)
