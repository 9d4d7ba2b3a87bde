"""Device trust: signed requests verify, and every tampering, stale clock or replay is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.signing import (
    MAX_SKEW_MS,
    SIGNATURE_HEADERS,
    MemoryNonceLedger,
    canonical_request,
    claimed_node,
    load_private_key,
    new_device_key,
    private_key_bytes,
    public_key_text,
    sign_request,
    verify_request,
)
from sync.sync_errors import SignatureRejected

NOW = 1_762_351_200_000
NODE = "0b6f3c1e-2a4d-4f7e-9c1a-5d2e8b7f6a90"
KEY = load_private_key(bytes(range(32)))  # a fixed key: failures reproduce
PUBLIC = public_key_text(KEY)
BODY = b"x\x9c compressed changes"
TARGET = "/sync/push?generation=g1"


def signed(**overrides: object) -> dict[str, str]:
    args: dict[str, object] = {
        "key": KEY,
        "node_id": NODE,
        "method": "POST",
        "target": TARGET,
        "body": BODY,
        "now_ms": NOW,
    }
    return sign_request(**{**args, **overrides})  # type: ignore[arg-type]


def verify(headers: dict[str, str], **overrides: object) -> str:
    args: dict[str, object] = {
        "public_key": PUBLIC,
        "method": "POST",
        "target": TARGET,
        "body": BODY,
        "headers": headers,
        "now_ms": NOW,
        "nonces": MemoryNonceLedger(),
    }
    return verify_request(**{**args, **overrides})  # type: ignore[arg-type]


def rejected(headers: dict[str, str], **overrides: object) -> str:
    with pytest.raises(SignatureRejected) as caught:
        verify(headers, **overrides)
    return caught.value.reason


def test_a_signed_request_verifies_and_names_its_node() -> None:
    headers = signed()
    assert list(headers) == list(SIGNATURE_HEADERS)
    assert verify(headers) == NODE


def test_header_names_are_read_without_regard_to_case() -> None:
    headers = {name.lower(): value for name, value in signed().items()}
    assert verify(headers) == NODE
    assert claimed_node({name.upper(): value for name, value in signed().items()}) == NODE


def test_the_method_is_signed_upper_cased() -> None:
    assert verify(signed(method="post"), method="POST") == NODE


def test_a_fresh_key_round_trips_through_its_raw_bytes() -> None:
    key = new_device_key()
    again = load_private_key(private_key_bytes(key))
    assert public_key_text(again) == public_key_text(key)
    assert len(public_key_text(key)) == 43 and "=" not in public_key_text(key)
    assert (
        verify(
            sign_request(again, NODE, "GET", "/", b"", NOW),
            public_key=public_key_text(key),
            method="GET",
            target="/",
            body=b"",
        )
        == NODE
    )


def test_a_private_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        load_private_key(b"\x00" * 31)


@pytest.mark.parametrize(
    "change",
    [
        {"method": "PUT"},
        {"target": "/sync/push?generation=g2"},
        {"target": "/sync/push"},
        {"body": BODY + b"!"},
        {"body": b""},
    ],
)
def test_any_change_to_the_request_breaks_the_signature(change: dict[str, object]) -> None:
    assert rejected(signed(), **change) == "bad_signature"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Prep-Timestamp", str(NOW + 1)),
        ("X-Prep-Nonce", "AAAAAAAAAAAAAAAAAAAAAA"),
        ("X-Prep-Node", "another-node"),
    ],
)
def test_any_change_to_a_signed_header_breaks_the_signature(header: str, value: str) -> None:
    assert rejected({**signed(), header: value}) == "bad_signature"


def test_a_signature_by_another_key_is_refused() -> None:
    assert rejected(signed(key=new_device_key())) == "bad_signature"


@pytest.mark.parametrize("offset", [MAX_SKEW_MS + 1, -MAX_SKEW_MS - 1, 10 * MAX_SKEW_MS])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    assert rejected(signed(now_ms=NOW + offset)) == "stale_timestamp"


@pytest.mark.parametrize("offset", [MAX_SKEW_MS, -MAX_SKEW_MS, 0])
def test_timestamps_within_the_skew_are_accepted(offset: int) -> None:
    assert verify(signed(now_ms=NOW + offset)) == NODE


def test_a_replayed_request_is_refused() -> None:
    ledger = MemoryNonceLedger()
    headers = signed()
    assert verify(headers, nonces=ledger) == NODE
    assert rejected(headers, nonces=ledger) == "replayed_nonce"
    assert verify(signed(), nonces=ledger) == NODE  # a fresh nonce passes


def test_only_valid_signatures_spend_a_nonce() -> None:
    ledger = MemoryNonceLedger()
    headers = signed(nonce="nonce-that-is-long-enough")
    assert rejected(headers, nonces=ledger, body=b"forged") == "bad_signature"
    assert verify(headers, nonces=ledger) == NODE


def test_the_same_nonce_from_two_nodes_is_two_nonces() -> None:
    ledger = MemoryNonceLedger()
    assert ledger.first_use("a", "n" * 22, NOW)
    assert ledger.first_use("b", "n" * 22, NOW)
    assert not ledger.first_use("a", "n" * 22, NOW)


@pytest.mark.parametrize("name", SIGNATURE_HEADERS)
def test_a_missing_header_is_refused(name: str) -> None:
    headers = {k: v for k, v in signed().items() if k != name}
    assert rejected(headers) == "missing_headers"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Prep-Timestamp", "soon"),
        ("X-Prep-Timestamp", "-5"),
        ("X-Prep-Timestamp", "0" + str(NOW)),
        ("X-Prep-Nonce", "short"),
        ("X-Prep-Nonce", "with spaces and more than enough"),
        ("X-Prep-Node", "line\nbreak"),
        ("X-Prep-Signature", "not+base64/" * 8),
        ("X-Prep-Signature", "AAAA"),
    ],
)
def test_malformed_headers_are_refused(header: str, value: str) -> None:
    assert rejected({**signed(), header: value}) == "malformed"


def test_a_header_given_twice_in_different_cases_is_refused() -> None:
    headers = signed()
    assert rejected({**headers, "x-prep-node": "other"}) == "malformed"


def test_checks_run_in_order_headers_then_clock_then_signature() -> None:
    stale_and_forged = {**signed(now_ms=NOW - 2 * MAX_SKEW_MS), "X-Prep-Node": "other"}
    assert rejected(stale_and_forged) == "stale_timestamp"
    assert rejected({**stale_and_forged, "X-Prep-Nonce": "!"}) == "malformed"


def test_the_canonical_request_covers_every_part_and_refuses_line_breaks() -> None:
    text = canonical_request("post", "/p?q=1", b"body", 5, "nonce", "node").decode()
    lines = text.split("\n")
    assert lines[1:3] == ["POST", "/p?q=1"]
    assert lines[3] == "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5"
    assert lines[4:] == ["5", "nonce", "node"]
    with pytest.raises(ValueError, match="line break"):
        canonical_request("POST", "/p\nX-Other: 1", b"", 5, "nonce", "node")


def test_signing_refuses_a_node_id_the_hub_would_call_malformed() -> None:
    with pytest.raises(ValueError, match="X-Prep-Node"):
        signed(node_id="has space")


def test_a_stored_public_key_that_is_not_one_is_a_hub_fault() -> None:
    with pytest.raises(ValueError):
        verify(signed(), public_key="too-short")


def test_the_ledger_forgets_nonces_only_once_they_are_stale() -> None:
    ledger = MemoryNonceLedger()
    assert ledger.first_use(NODE, "old-nonce-0000000000", NOW)
    assert ledger.first_use(NODE, "new-nonce-0000000000", NOW + 2 * MAX_SKEW_MS)
    assert len(ledger) == 2  # exactly at the horizon: still remembered
    assert not ledger.first_use(NODE, "old-nonce-0000000000", NOW)
    assert ledger.first_use(NODE, "newer-nonce-00000000", NOW + 2 * MAX_SKEW_MS + 1)
    assert len(ledger) == 2  # the old one is gone...
    assert not ledger.first_use(NODE, "old-nonce-0000000000", NOW)  # ...and refused as too old


def test_a_full_ledger_refuses_rather_than_forgets() -> None:
    ledger = MemoryNonceLedger(max_entries=2)
    assert ledger.first_use(NODE, "a" * 16, NOW)
    assert ledger.first_use(NODE, "b" * 16, NOW)
    assert not ledger.first_use(NODE, "c" * 16, NOW)
    assert not ledger.first_use(NODE, "a" * 16, NOW)


@settings(max_examples=50, deadline=None)
@given(position=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_flipping_any_bit_of_the_body_breaks_the_signature(position: int, bit: int) -> None:
    body = bytearray(BODY)
    body[position % len(body)] ^= 1 << bit
    assert rejected(signed(), body=bytes(body)) == "bad_signature"
