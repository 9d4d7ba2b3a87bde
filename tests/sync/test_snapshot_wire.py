"""The snapshot wire format: pages round-trip column by column, and malformed pages are refused
with ``WireError`` (never another exception), a column at a time."""

from __future__ import annotations

import contextlib
import copy
import json
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.snapshot import (
    TABLES,
    SnapshotPage,
    SnapshotTable,
    canonical_json,
    decode_snapshot,
    encode_snapshot,
    instant_text,
)
from sync.sync_errors import BatchTooLarge, WireError

LIMIT = 8 << 20
T0 = datetime(2025, 11, 5, 16, tzinfo=UTC)
QUOTE = canonical_json({"lines": [{"code": "base", "cents": 6000}], "total_cents": 6000})


def stamp(n: int, node: str = "hub") -> str:
    return f"{1762358400000 + n:013d}-{n % 7:05d}-{node}"


def bookings(n: int) -> SnapshotTable:
    rows = []
    for i in range(n):
        begins = T0 + timedelta(hours=2 * i)
        rows.append({
            "id": f"b-{i:04d}", "site_id": "s-1", "resource_id": f"r-{i % 3}",
            "renter_id": f"t-{i % 5}", "starts_at": instant_text(begins),
            "ends_at": instant_text(begins + timedelta(hours=2)),
            "status": ["confirmed", "hold", "cancelled"][i % 3],
            "hold_expires_at": instant_text(begins) if i % 3 == 1 else None,
            "price_cents": 6000 + i, "quote": QUOTE, "paid": i % 4 == 0,
            "confirmed_hlc": stamp(i) if i % 3 != 1 else None, "origin_node": "hub",
            "created_by": "hub", "created_at": instant_text(T0), "updated_at": instant_text(T0),
            "updated_hlc": stamp(i),
        })  # fmt: skip
    return table("booking", rows)


def table(name: str, rows: list[dict[str, Any]]) -> SnapshotTable:
    return SnapshotTable(name, len(rows), {c: [r[c] for r in rows] for c in TABLES[name]})


def full_page() -> SnapshotPage:
    renters = [
        {"id": "t-1", "name": "Artisan Bakery", "email": "a@example.com", "phone": None,
         "profile": canonical_json({"insured": True}), "updated_hlc": stamp(1)},
        {"id": "t-2", "name": "Ñandú Tamales", "email": None, "phone": "+14155550101",
         "profile": "{}", "updated_hlc": stamp(2, "node-7")},
    ]  # fmt: skip
    resources = [
        {"id": "r-1", "name": "Station 1", "kind": "station", "hourly_rate_cents": 3000,
         "active": True, "updated_hlc": stamp(3)},
    ]  # fmt: skip
    conflicts = [
        {"id": "c-1", "keeper_id": "b-0001", "loser_id": "b-0002", "rule": "paid",
         "status": "resolved", "resolution": "cancelled b-0002", "created_at": instant_text(T0),
         "resolved_at": instant_text(T0), "resolved_by": "host@example.com",
         "updated_hlc": stamp(4)},
    ]  # fmt: skip
    documents = [
        {"id": "d-1", "owner_kind": "renter", "owner_id": "t-1", "kind": "insurance",
         "number": None, "issuer": "Acme", "issued_at": None, "expires_at": instant_text(T0),
         "sha256": "ab" * 32, "size_bytes": 2048, "content_type": "application/pdf",
         "filename": "coi.pdf", "review_status": "approved", "uploaded_by": "host",
         "created_at": instant_text(T0), "updated_hlc": stamp(5)},
    ]  # fmt: skip
    tables = [
        table("resource", resources),
        table("renter", renters),
        bookings(30),
        table("conflict", conflicts),
        table("document", documents),
    ]
    return SnapshotPage(
        812, '[812,"booking","x","y"]', 1_762_358_400_000, {t.name: t for t in tables}
    )


def as_lists(page: SnapshotPage) -> dict[str, dict[str, list[Any]]]:
    return {n: {c: list(v) for c, v in t.columns.items()} for n, t in page.tables.items()}


def doc_of(page: SnapshotPage) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(zlib.decompress(encode_snapshot(page)))
    return loaded


def body(doc: Any) -> bytes:
    return zlib.compress(json.dumps(doc).encode())


def decode(data: bytes) -> SnapshotPage:
    return decode_snapshot(data, max_raw_bytes=LIMIT)


# --- round trips -------------------------------------------------------------------------------


def test_a_full_page_round_trips() -> None:
    page = full_page()
    back = decode(encode_snapshot(page))
    assert (back.as_of, back.next_cursor, back.hub_time_ms) == (
        812,
        page.next_cursor,
        page.hub_time_ms,
    )
    assert as_lists(back) == as_lists(page)
    assert [t.rows for t in back.tables.values()] == [1, 2, 30, 1, 1] and back.skipped == {}


def test_the_last_page_and_an_empty_page_round_trip() -> None:
    page = SnapshotPage(0, None, 5, {})
    back = decode(encode_snapshot(page))
    assert back == page


def test_repeated_values_travel_once_as_a_dictionary() -> None:
    doc = doc_of(SnapshotPage(1, None, 0, {"booking": bookings(300)}))
    cols = doc["tables"][0]["cols"]
    assert cols["status"][0] == "d" and cols["status"][1] == ["confirmed", "hold", "cancelled"]
    assert cols["quote"][0] == "d" and len(cols["quote"][1]) == 1  # one quote text for all
    assert cols["id"][0] == "v"  # unique values as they are


def test_json_columns_are_canonical_when_read() -> None:
    doc = doc_of(full_page())
    renter = next(t for t in doc["tables"] if t["name"] == "renter")
    renter["cols"]["profile"] = ["v", '{ "z": 1, "a": [1, 2] }', "{}"]
    back = decode(body(doc))
    assert list(back.tables["renter"].columns["profile"]) == ['{"a":[1,2],"z":1}', "{}"]


def test_unknown_tables_are_skipped_and_extra_columns_ignored() -> None:
    doc = doc_of(full_page())
    doc["tables"].append({"name": "payout", "n": 2, "cols": {"id": ["v", "p1", "p2"]}})
    doc["tables"][0]["cols"]["colour"] = ["v", "red"]  # a newer hub's column
    back = decode(body(doc))
    assert back.skipped == {"payout": 2} and "colour" not in back.tables["resource"].columns
    assert as_lists(back) == as_lists(full_page())


def test_instants_travel_in_one_fixed_width_utc_form() -> None:
    pacific = timezone(timedelta(hours=-8))
    assert instant_text(datetime(2025, 11, 5, 8, 0, 0, 5, tzinfo=pacific)) == (
        "2025-11-05T16:00:00.000005Z"
    )
    with pytest.raises(WireError):
        instant_text(datetime(2025, 11, 5, 8))  # noqa: DTZ001 - a naive instant is refused


# --- refusals ----------------------------------------------------------------------------------


def _booking_col(doc: dict[str, Any], name: str, col: Any) -> None:
    next(t for t in doc["tables"] if t["name"] == "booking")["cols"][name] = col


def _n30(values: list[Any]) -> list[Any]:
    return ["v", *values, *(values[-1:] * (30 - len(values)))]


REFUSALS: list[tuple[str, Any, str]] = [
    ("version", lambda d: d.update(v=2), "version"),
    ("kind", lambda d: d.update(k="pull"), "not a snapshot"),
    ("as_of", lambda d: d.update(as_of=-1), "as_of"),
    ("as_of type", lambda d: d.update(as_of="812"), "as_of"),
    ("hub time", lambda d: d.pop("t"), "t is missing"),
    ("cursor", lambda d: d.update(next=5), "cursor"),
    ("tables", lambda d: d.update(tables={}), "tables"),
    ("table", lambda d: d["tables"].append([]), "not an object"),
    ("row count", lambda d: d["tables"][2].update(n=31), "values for 31 rows"),
    ("huge count", lambda d: d["tables"][2].update(n=10**9), "row count"),
    ("twice", lambda d: d["tables"].append(d["tables"][0]), "sent twice"),
    ("missing", lambda d: d["tables"][2]["cols"].pop("status"), "booking.status: column missing"),
    ("form", lambda d: _booking_col(d, "status", ["x", 1]), "unknown column form"),
    ("short", lambda d: _booking_col(d, "id", ["v", "b1"]), "1 values for 30 rows"),
    ("text type", lambda d: _booking_col(d, "status", _n30([1])), "expected text"),
    ("int type", lambda d: _booking_col(d, "price_cents", _n30([True])), "expected int"),
    ("bool type", lambda d: _booking_col(d, "paid", _n30(["yes"])), "expected bool"),
    ("float", lambda d: _booking_col(d, "price_cents", _n30([1.5])), "expected int"),
    ("huge int", lambda d: _booking_col(d, "price_cents", _n30([2**64])), "out of range"),
    ("null", lambda d: _booking_col(d, "status", _n30([None])), "null in a required"),
    ("empty id", lambda d: _booking_col(d, "site_id", _n30([""])), "empty id"),
    ("long id", lambda d: _booking_col(d, "site_id", _n30(["x" * 129])), "longer than"),
    ("instant form", lambda d: _booking_col(d, "starts_at", _n30(["2025-11-05 16:00:00"])),
     "not a UTC instant"),
    ("offset", lambda d: _booking_col(d, "starts_at", _n30(["2025-11-05T16:00:00.000000+00:00"])),
     "not a UTC instant"),
    ("calendar", lambda d: _booking_col(d, "ends_at", _n30(["2025-02-30T16:00:00.000000Z"])),
     "not a calendar instant"),
    ("stamp", lambda d: _booking_col(d, "updated_hlc", _n30(["yesterday"])), "not an HLC"),
    ("json", lambda d: _booking_col(d, "quote", _n30(["{not json"])), "not JSON text"),
    ("json kind", lambda d: _booking_col(d, "quote", _n30(["[1, 2]"])), "not a JSON object"),
    ("nan", lambda d: _booking_col(d, "quote", _n30(['{"x": NaN}'])), "NaN is not JSON"),
    ("index range", lambda d: _booking_col(d, "status", ["d", ["hold"], [0] * 29 + [1]]),
     "index out of range"),
    ("negative index", lambda d: _booking_col(d, "status", ["d", ["hold"], [0] * 29 + [-1]]),
     "index out of range"),
    ("index type", lambda d: _booking_col(d, "status", ["d", ["hold"], [0] * 29 + ["0"]]),
     "not an integer"),
    ("dictionary", lambda d: _booking_col(d, "status", ["d", "hold", [0] * 30]),
     "bad dictionary"),
    ("dictionary kind", lambda d: _booking_col(d, "status", ["d", [7], [0] * 30]),
     "expected text"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_malformed_page_is_refused(change: Any, message: str) -> None:
    doc = doc_of(full_page())
    change(doc)
    with pytest.raises(WireError, match=message):
        decode(body(doc))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not zlib", "not a zlib stream"),
        (zlib.compress(b'{"v": 1}')[:-3], "truncated"),
        (zlib.compress(b"{}") + b"more", "bytes follow"),
        (zlib.compress(b"\xff\xfe"), "not UTF-8 JSON"),
        (zlib.compress(b"[1, 2]"), "not a JSON object"),
        (zlib.compress(b'{"v": NaN}'), "not UTF-8 JSON"),
    ],
)
def test_bodies_that_are_not_zlib_json_objects_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode(data)


def test_a_zlib_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compress(b"{" + b" " * (64 << 20) + b"}", 9)
    with pytest.raises(BatchTooLarge) as refused:
        decode(bomb)
    assert refused.value.limit == LIMIT and "fewer rows" in refused.value.hint


def test_a_body_within_the_limit_is_read() -> None:
    data = encode_snapshot(full_page())
    size = len(zlib.decompress(data))
    assert decode_snapshot(data, max_raw_bytes=size).as_of == 812
    with pytest.raises(BatchTooLarge):
        decode_snapshot(data, max_raw_bytes=size - 1)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_any_corrupted_page_decodes_or_raises_wire_error(position: int, byte: int) -> None:
    raw = bytearray(zlib.decompress(encode_snapshot(full_page())))
    raw[position % len(raw)] = byte
    with contextlib.suppress(WireError):
        decode(zlib.compress(bytes(raw)))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_swapped_value_decodes_or_raises_wire_error(data: st.DataObject) -> None:
    doc = doc_of(full_page())
    section = data.draw(st.sampled_from(doc["tables"]))
    name = data.draw(st.sampled_from(sorted(section["cols"])))
    col = copy.deepcopy(section["cols"][name])
    values = col[1:] if col[0] == "v" else col[2]
    if values:
        values[data.draw(st.integers(0, len(values) - 1))] = data.draw(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                      st.floats(allow_nan=False), st.lists(st.integers(), max_size=2))
        )  # fmt: skip
        if col[0] == "v":
            col[1:] = values
    section["cols"][name] = col
    with contextlib.suppress(WireError):
        decode(body(doc))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20), st.text(max_size=30), st.integers(-(2**40), 2**40),
            st.booleans(), st.one_of(st.none(), st.text(max_size=10)),
        ),
        max_size=40,
    )
)  # fmt: skip
def test_any_resource_table_round_trips(rows: list[tuple[str, str, int, bool, Any]]) -> None:
    resources = [
        {"id": i, "name": name, "kind": kind or "station", "hourly_rate_cents": rate,
         "active": active, "updated_hlc": stamp(n)}
        for n, (i, name, rate, active, kind) in enumerate(rows)
    ]  # fmt: skip
    page = SnapshotPage(3, None, 0, {"resource": table("resource", resources)})
    assert as_lists(decode(encode_snapshot(page))) == as_lists(page)
