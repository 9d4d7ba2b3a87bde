"""Cost of the sync wire format in process: encode and decode, per change, push and pull.

``python -m bench.wire [--json]`` builds a realistic push batch (2,000 changes: booking upserts
and their audit appends) and a pull page (5,000 hub booking upserts), and times
``encode_push``/``decode_push`` and ``encode_pull``/``decode_pull`` (median of 5), with the
compressed bytes per change. These are the edge's and hub's CPU per change before any database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.hlc import Stamp
from sync.ids import uuid7
from sync.wire import (
    Change,
    FeedChange,
    PullPage,
    PushBatch,
    decode_pull,
    decode_push,
    encode_pull,
    encode_push,
)

WALL = int(datetime(2026, 1, 5, 14, tzinfo=UTC).timestamp() * 1000)


def _booking(index: int, node: str) -> dict[str, Any]:
    begins = datetime(2026, 1, 5, 14, tzinfo=UTC) + timedelta(hours=2 * index)
    stamp = Stamp(WALL + index, 0, node).encode()
    return {
        "id": str(uuid7(WALL + index)), "site_id": "site-1", "resource_id": f"r{index % 20}",
        "renter_id": f"t{index % 50}", "starts_at": begins.isoformat(),
        "ends_at": (begins + timedelta(hours=2)).isoformat(), "status": "confirmed",
        "hold_expires_at": None, "price_cents": 6210,
        "quote": {"lines": [{"code": "base", "cents": 6000}, {"code": "crt", "cents": 210}],
                  "total_cents": 6210},
        "created_by": "host:door", "created_at": begins.isoformat(),
        "updated_at": begins.isoformat(), "confirmed_hlc": stamp, "updated_hlc": stamp,
        "paid": False, "origin_node": None,
    }  # fmt: skip


def push_batch(bookings: int = 1000) -> PushBatch:
    node, head, changes = "node-1", "0" * 64, []
    for index in range(bookings):
        payload = _booking(index, node)
        changes.append(Change(seq=2 * index + 1, hlc=payload["updated_hlc"], entity="booking",
                              entity_id=payload["id"], op="upsert", payload=payload))  # fmt: skip
        event = {"seq": index + 1, "node_id": node, "hlc": Stamp(WALL + index, 1, node).encode(),
                 "actor": "host:door", "action": "booking.create", "entity": "booking",
                 "entity_id": payload["id"], "details": {"status": "confirmed"},
                 "at": payload["created_at"], "prev_hash": head}  # fmt: skip
        head = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
        event["hash"] = head
        changes.append(Change(seq=2 * index + 2, hlc=event["hlc"], entity="audit_event",
                              entity_id=str(index + 1), op="append", payload=event))  # fmt: skip
    return PushBatch(node_id=node, generation="g", changes=changes)


def pull_page(count: int = 5000) -> PullPage:
    changes = []
    for index in range(count):
        payload = {**_booking(index, "hub"), "origin_node": "hub"}
        changes.append(FeedChange(hub_seq=index + 1, hlc=payload["updated_hlc"], origin="hub",
                                  entity="booking", entity_id=payload["id"], op="upsert",
                                  payload=payload))  # fmt: skip
    return PullPage(changes=changes, checkpoint=count, more=True, hub_time_ms=WALL)


def _median_us(work: Callable[[], Any], per: int) -> float:
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        work()
        samples.append((time.perf_counter() - began) * 1e6 / per)
    return statistics.median(samples)


def run() -> dict[str, float]:
    batch, page = push_batch(), pull_page()
    pushed, pulled = encode_push(batch), encode_pull(page)
    n, m = len(batch.changes), len(page.changes)
    return {
        "push_encode_us": _median_us(lambda: encode_push(batch), n),
        "push_decode_us": _median_us(
            lambda: decode_push(pushed, max_changes=n, max_raw_bytes=64 << 20), n
        ),
        "push_bytes_per_change": len(pushed) / n,
        "pull_encode_us": _median_us(lambda: encode_pull(page), m),
        "pull_decode_us": _median_us(lambda: decode_pull(pulled, max_raw_bytes=64 << 20), m),
        "pull_bytes_per_change": len(pulled) / m,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON line too")
    args = parser.parse_args(argv)
    result = run()
    for name, value in result.items():
        unit = "B" if name.endswith("bytes_per_change") else "us per change"
        print(f"{name:<24} {value:8.1f} {unit}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
