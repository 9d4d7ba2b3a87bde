"""The audit chain's hash: one canonical form, reached by the dict path and the field path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.audit_hash import GENESIS_HASH, audit_body, audit_hash, canonical_json, chain_hasher

AT = datetime(2026, 1, 5, 14, 0, 0, 120000, tzinfo=UTC)
DETAILS = {"status": "confirmed", "note": 'line\n"quoted" ✓', "cents": 6210}
FIELDS: dict[str, Any] = {
    "seq": 7,
    "node_id": "node-ä",
    "hlc": "0001:0002:node",
    "actor": "host:zoë",
    "action": "booking.create",
    "entity": "booking",
    "entity_id": "b-1",
    "prev_hash": GENESIS_HASH,
}
# Computed with the edge's journal before the hash moved here: a change of the canonical form
# would orphan every chain already written, so it is pinned.
PINNED = "04b360ec341e7842d6e798ce58814c3bfc99593f6575431819658473507c0d9c"


def test_the_canonical_form_is_pinned() -> None:
    assert audit_hash(audit_body(**FIELDS, details=DETAILS, at=AT)) == PINNED


def test_the_chain_hasher_gives_the_pinned_hash() -> None:
    event_hash = chain_hasher(FIELDS["node_id"])
    seq, hlc, actor, action, entity, entity_id, prev_hash = (
        FIELDS[name]
        for name in ("seq", "hlc", "actor", "action", "entity", "entity_id", "prev_hash")
    )
    details, at = canonical_json(DETAILS), AT.isoformat()
    computed = event_hash(seq, hlc, actor, action, entity, entity_id, details, at, prev_hash)
    assert computed == PINNED


def test_an_instant_without_microseconds_has_no_fraction() -> None:
    body = audit_body(**FIELDS, details={}, at=AT.replace(microsecond=0))
    assert body["at"] == "2026-01-05T14:00:00+00:00"


def test_every_field_is_covered() -> None:
    original = audit_hash(audit_body(**FIELDS, details=DETAILS, at=AT))
    for name, value in FIELDS.items():
        changed = {**FIELDS, name: value + 1 if isinstance(value, int) else value + "x"}
        assert audit_hash(audit_body(**changed, details=DETAILS, at=AT)) != original, name
    assert audit_hash(audit_body(**FIELDS, details={}, at=AT)) != original
    later = AT + timedelta(microseconds=1)
    assert audit_hash(audit_body(**FIELDS, details=DETAILS, at=later)) != original


_text = st.text(max_size=30)  # any code point: quotes, backslashes, control characters, emoji
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    strings=st.tuples(_text, _text, _text, _text, _text, _text),
    details=st.dictionaries(_text, _json_values, max_size=4),
    at=st.datetimes(timezones=st.just(UTC)),
    prev_hash=st.just(GENESIS_HASH) | st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_both_paths_agree(
    seq: int,
    strings: tuple[str, ...],
    details: dict[str, Any],
    at: datetime,
    prev_hash: str,
) -> None:
    node_id, hlc, actor, action, entity, entity_id = strings
    by_dict = audit_hash(
        audit_body(seq, node_id, hlc, actor, action, entity, entity_id, details, at, prev_hash)
    )
    event_hash = chain_hasher(node_id)
    fields = (seq, hlc, actor, action, entity, entity_id, canonical_json(details))
    assert event_hash(*fields, at.isoformat(), prev_hash) == by_dict
