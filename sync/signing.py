"""Device trust: every sync request is signed with its edge's Ed25519 key; replays are refused.

An edge enrols once and registers the public half of a key it generated itself (the private half
never leaves the appliance). Each request then carries four headers: the node id, the time in
milliseconds, a random nonce and a signature over the *canonical request*, the newline-joined

    prep-sync-request-v1, METHOD, target (path and query exactly as sent), sha256(body) in hex,
    timestamp_ms, nonce, node_id

The hub checks, in this order and stopping at the first failure: the headers are all there and
well formed; the timestamp is within ``MAX_SKEW_MS`` of its own clock (either way); the signature
holds for the node's registered key; the nonce was never used by that node. Only nonces of valid
signatures are remembered, so nobody can burn another node's nonces. Fields may not contain line
breaks, which keeps the canonical form unambiguous.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from sync.sync_errors import SignatureRejected

SIGNATURE_HEADERS = ("X-Prep-Node", "X-Prep-Timestamp", "X-Prep-Nonce", "X-Prep-Signature")
MAX_SKEW_MS = 300_000
_PURPOSE = "prep-sync-request-v1"
_KEY_BYTES = 32
_FORMS = (  # one pattern per header, in SIGNATURE_HEADERS order
    re.compile(r"[A-Za-z0-9._:-]{1,128}"),
    re.compile(r"0|[1-9][0-9]{0,15}"),
    re.compile(r"[A-Za-z0-9_-]{16,128}"),
    re.compile(r"[A-Za-z0-9_-]{86}"),  # 64 bytes
)


def new_device_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte private key, for the edge to keep in its data directory."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_private_key(raw: bytes) -> Ed25519PrivateKey:
    if len(raw) != _KEY_BYTES:
        raise ValueError(f"an Ed25519 private key is {_KEY_BYTES} raw bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public key as the hub stores it: URL-safe base64 of the raw 32 bytes, unpadded."""
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def canonical_request(
    method: str, target: str, body: bytes, timestamp_ms: int, nonce: str, node_id: str
) -> bytes:
    """The bytes a request's signature covers."""
    fields = [method.upper(), target, str(timestamp_ms), nonce, node_id]
    if any("\n" in field or "\r" in field for field in fields):
        raise ValueError("a signed request field may not contain a line break")
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([_PURPOSE, fields[0], target, digest, *fields[2:]]).encode()


def sign_request(
    key: Ed25519PrivateKey,
    node_id: str,
    method: str,
    target: str,
    body: bytes,
    now_ms: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four signature headers for one request (a fresh random nonce unless one is given)."""
    nonce = _b64(secrets.token_bytes(16)) if nonce is None else nonce
    values = [node_id, str(now_ms), nonce]
    for header, form, value in zip(SIGNATURE_HEADERS, _FORMS, values, strict=False):
        if not form.fullmatch(value):
            raise ValueError(f"{header} would be malformed: {value!r}")
    signature = key.sign(canonical_request(method, target, body, now_ms, nonce, node_id))
    return dict(zip(SIGNATURE_HEADERS, [*values, _b64(signature)], strict=True))


def claimed_node(headers: Mapping[str, str]) -> str:
    """The node a request says it comes from, to look up its key before ``verify_request``."""
    return _read_headers(headers)[0]


class NonceLedger(Protocol):
    def first_use(self, node_id: str, nonce: str, timestamp_ms: int) -> bool:
        """True if the node never used the nonce before (and remember it); False otherwise."""
        ...


class MemoryNonceLedger:
    """Nonces in memory, for tests and a single process; forgets them after ``2 * MAX_SKEW_MS``.

    Forgetting is safe: the ledger only sees timestamps already within the skew of the hub's
    clock, so the newest one seen is at most ``now + skew``, and a nonce older than that minus
    ``2 * skew`` is older than ``now - skew``: its request would be refused as stale anyway.
    Nonces stamped before the horizon are refused rather than remembered, and a full ledger
    refuses new nonces (fail closed: a flood cannot make it forget nonces still in the window).
    """

    def __init__(self, horizon_ms: int = 2 * MAX_SKEW_MS, max_entries: int = 250_000) -> None:
        self.horizon_ms = horizon_ms
        self.max_entries = max_entries
        self._seen: set[tuple[str, str]] = set()
        self._by_time: list[tuple[int, str, str]] = []  # a heap: oldest first
        self._newest = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, node_id: str, nonce: str, timestamp_ms: int) -> bool:
        with self._lock:
            self._newest = max(self._newest, timestamp_ms)
            horizon = self._newest - self.horizon_ms
            while self._by_time and self._by_time[0][0] < horizon:
                _, old_node, old_nonce = heapq.heappop(self._by_time)
                self._seen.discard((old_node, old_nonce))
            key = (node_id, nonce)
            if timestamp_ms < horizon or key in self._seen or len(self._seen) >= self.max_entries:
                return False
            self._seen.add(key)
            heapq.heappush(self._by_time, (timestamp_ms, node_id, nonce))
            return True


def verify_request(
    public_key: str,
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    now_ms: int,
    nonces: NonceLedger,
    max_skew_ms: int = MAX_SKEW_MS,
) -> str:
    """The verified node id of a signed request, or ``SignatureRejected`` with its reason.

    ``public_key`` is the key registered for the node the headers name (``claimed_node``); a
    stored key that is not one raises ``ValueError``, a fault of the hub, not of the request.
    """
    verifier = Ed25519PublicKey.from_public_bytes(_unb64(public_key, _KEY_BYTES))
    node_id, stamp, nonce, signature = _read_headers(headers)
    timestamp_ms = int(stamp)
    if abs(now_ms - timestamp_ms) > max_skew_ms:
        raise SignatureRejected("stale_timestamp", f"timestamp is {now_ms - timestamp_ms} ms off")
    try:
        message = canonical_request(method, target, body, timestamp_ms, nonce, node_id)
        verifier.verify(_unb64(signature, 64), message)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureRejected("bad_signature") from exc
    if not nonces.first_use(node_id, nonce, timestamp_ms):
        raise SignatureRejected("replayed_nonce")
    return node_id


def _read_headers(headers: Mapping[str, str]) -> tuple[str, str, str, str]:
    """The four header values, looked up without regard to case, each checked for its form."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in lowered:
            raise SignatureRejected("malformed", f"{name} is given twice")
        lowered[name.lower()] = value
    values = [lowered.get(name.lower(), "") for name in SIGNATURE_HEADERS]
    missing = [name for name, value in zip(SIGNATURE_HEADERS, values, strict=True) if not value]
    if missing:
        raise SignatureRejected("missing_headers", f"missing {', '.join(missing)}")
    for name, form, text in zip(SIGNATURE_HEADERS, _FORMS, values, strict=True):
        if not isinstance(text, str) or not form.fullmatch(text):
            raise SignatureRejected("malformed", f"{name} is malformed")
    node_id, stamp, nonce, signature = values
    return node_id, stamp, nonce, signature


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str, size: int) -> bytes:
    """Decode unpadded URL-safe base64 of exactly ``size`` bytes, refusing anything else."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not URL-safe base64")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw
