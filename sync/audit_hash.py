"""The audit chain's hash: SHA-256 over an event's canonical JSON, as every replica computes it.

An event's hash covers every field of the event but the hash itself, ``prev_hash`` included,
so each event seals the one before it. The canonical form is compact JSON with sorted keys and
unescaped non-ASCII text; the instant is ``datetime.isoformat()`` of the UTC instant (so
``...T14:00:00+00:00`` without a fraction when the microseconds are zero).

Two ways to the same bytes: ``audit_hash(audit_body(...))`` through ``json.dumps`` (the edge,
one event at a time), and ``chain_hasher(node_id)`` assembling the text field by field for a
verifier walking a million events (the hub). ``tests/sync/test_audit_hash.py`` holds them equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64  # the prev_hash of a node's first event

_sha256 = hashlib.sha256
_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds this
# encoder on every call; one built once writes the same text.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and unescaped non-ASCII text."""
    return _canonical(value)


def audit_body(
    seq: int,
    node_id: str,
    hlc: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: Mapping[str, Any],
    at: datetime,
    prev_hash: str,
) -> dict[str, Any]:
    """What the hash covers: every field of the event but the hash itself."""
    return {
        "seq": seq,
        "node_id": node_id,
        "hlc": hlc,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "details": details,
        "at": at.isoformat(),
        "prev_hash": prev_hash,
    }


def audit_hash(body: Mapping[str, Any]) -> str:
    """The hex SHA-256 of an event body's canonical JSON."""
    return _sha256(canonical_json(body).encode()).hexdigest()


EventHasher = Callable[[int, str, str, str, str, str, str, str, str], str]


def chain_hasher(node_id: str) -> EventHasher:
    """``audit_hash`` for the events of one node's chain, written out key by key.

    The function answers the hash of ``(seq, hlc, actor, action, entity, entity_id,
    details_json, at_text, prev_hash)`` where ``details_json`` is ``canonical_json(details)``,
    ``at_text`` is ``at.isoformat()`` of a UTC instant and ``prev_hash`` is ``GENESIS_HASH`` or
    a hex digest: those two never need JSON escaping, so only the free-text fields pay for it
    (the node id is escaped once). The keys are written in sorted order, as
    ``json.dumps(sort_keys=True)`` writes them.
    """
    middle = f',"node_id":{_string(node_id)},"prev_hash":"'

    def event_hash(
        seq: int,
        hlc: str,
        actor: str,
        action: str,
        entity: str,
        entity_id: str,
        details_json: str,
        at_text: str,
        prev_hash: str,
    ) -> str:
        text = (
            f'{{"action":{_string(action)},"actor":{_string(actor)},"at":"{at_text}",'
            f'"details":{details_json},"entity":{_string(entity)},'
            f'"entity_id":{_string(entity_id)},"hlc":{_string(hlc)}{middle}{prev_hash}",'
            f'"seq":{seq:d}}}'
        )
        return _sha256(text.encode()).hexdigest()

    return event_hash
