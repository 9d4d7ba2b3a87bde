"""Sync benchmarks over loopback HTTP, beside PouchDB measured in the same run.

``python -m bench.sync [--quick] [--json]`` starts a real ``prep-hub serve`` on a throwaway
PostgreSQL database and enrols edge nodes against it; the edges' sync code runs in this process
(push, incremental, no-op, audit ingest) or as a real ``prep-edge sync --once`` process (initial
sync, long offline: wall time and peak RSS of the command an operator would run). Then it runs
``../shared/peers/pouchdb/run.sh`` with the same N. It prints a table, each figure beside its
target or peer, and writes JSON to ``bench/results/``; ``--json`` also prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.report import publish
from bench.sync_setup import Hub, fill_outbox, hub_bookings
from edge.enrollment import enroll
from edge.journal import SYSTEM
from edge.renters import create_renter
from edge.runtime import open_services
from edge.settings import EdgeSettings
from edge.setup import initialise
from edge.site_service import create_resource
from edge.sync_runner import SyncRunner
from sync.shapes.site import RenterCreate, ResourceCreate

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "shared" / "peers" / "pouchdb" / "run.sh"


class CountingTransport(httpx.AsyncHTTPTransport):
    """Counts the bytes that cross the wire (request and response, headers and bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.received = 0
        self.body_sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        self.body_sent += len(body)
        self.sent += len(body) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 40
        response = await super().handle_async_request(request)
        await response.aread()
        self.received += len(response.content) + sum(
            len(k) + len(v) + 4 for k, v in response.headers.raw
        )
        return response

    def reset(self) -> None:
        self.sent = self.received = self.body_sent = 0


@dataclass
class EdgeNode:
    folder: Path
    settings: EdgeSettings
    resource_id: str
    renter_id: str
    site_id: str


async def make_edge(hub: Hub, folder: Path, name: str) -> EdgeNode:
    """A new node with one station and one renter, enrolled with the hub."""
    now = datetime.now(UTC)
    await asyncio.to_thread(
        initialise, folder, name, "san_francisco", "America/Los_Angeles", now, dict(os.environ)
    )
    settings = EdgeSettings.load(folder, jobs={"enabled": False})
    token = hub.cli("enroll-token", "--site-name", name).strip()
    async with open_services(settings) as services:
        resource = await create_resource(
            services, SYSTEM, ResourceCreate(name="Station", kind="station", hourly_rate_cents=3000)
        )
        renter = await create_renter(services, SYSTEM, RenterCreate(name="Bench Bakery"))
        await enroll(services, hub.base, token)
        site_id = services.site.id
    return EdgeNode(folder, settings, resource.id, renter.id, site_id)


async def timed_round(node: EdgeNode, transport: CountingTransport) -> tuple[float, Any]:
    """One round of a node that starts now (a new runner: a new connection to the hub)."""
    async with open_services(node.settings) as services:
        runner = SyncRunner(services, transport)
        try:
            return await timed(runner)
        finally:
            await runner.close()


async def timed(runner: SyncRunner) -> tuple[float, Any]:
    """One round of a running node's runner (its connection to the hub already open)."""
    began = time.perf_counter()
    report = await runner.run_once()
    elapsed = time.perf_counter() - began
    if report.outcome != "ok":
        raise SystemExit(f"sync round failed: {report.error}")
    return elapsed, report


def sync_command(node: EdgeNode) -> tuple[float, float]:
    """``prep-edge sync --once`` as a process: wall seconds and peak RSS (MB)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "sync", "--data-dir", str(node.folder), "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _peak_mb(process.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - began
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"prep-edge sync failed: {err.decode()[-500:]}\n{out.decode()[-500:]}")
    return elapsed, peak


def _peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pouchdb(count: int) -> dict[str, Any]:
    if not PEER.exists():
        return {"error": f"{PEER} not found"}
    done = subprocess.run(
        ["/bin/bash", str(PEER), str(count)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:  # run.sh may exit non-zero from its clean-up trap after printing the result
        return {"error": (done.stderr or done.stdout).strip()[-300:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def measure(folder: Path, hub: Hub, quick: bool) -> dict[str, Any]:
    push_bookings = 10_000 if quick else 50_000  # two changes each
    pulled = 20_000 if quick else 100_000
    offline = 5_000 if quick else 25_000
    figures: dict[str, Any] = {}
    transport = CountingTransport()

    pusher = await make_edge(hub, folder / "push", "Push Kitchen")
    changes = fill_outbox(pusher.settings.database_path, push_bookings)
    async with open_services(pusher.settings) as services:  # a running node, as in the field
        runner = SyncRunner(services, transport)
        try:
            transport.reset()
            elapsed, report = await timed(runner)
            figures["push_changes"] = changes
            figures["push_changes_per_s"] = changes / elapsed
            figures["bytes_per_change"] = transport.body_sent / changes
            figures["push_batches"] = report.push.batches

            increment = fill_outbox(pusher.settings.database_path, 500)
            transport.reset()
            elapsed, _ = await timed(runner)
            figures["incremental_changes"] = increment
            figures["incremental_1k_ms"] = elapsed * 1000

            noop = []
            for _ in range(7):
                transport.reset()
                elapsed, _ = await timed(runner)
                noop.append((elapsed * 1000, transport.sent + transport.received))
            noop.sort()
            figures["noop_ms"], figures["noop_bytes"] = noop[len(noop) // 2]
        finally:
            await runner.close()

    auditor = await make_edge(hub, folder / "audit", "Audit Kitchen")
    events = fill_outbox(auditor.settings.database_path, push_bookings, audit_only=True)
    elapsed, _ = await timed_round(auditor, transport)
    figures["audit_events"] = events
    figures["audit_events_per_s"] = events / elapsed

    fresh = await make_edge(hub, folder / "fresh", "Fresh Kitchen")
    await hub_bookings(hub, fresh.site_id, fresh.resource_id, fresh.renter_id, pulled)
    figures["initial_sync_bookings"] = pulled
    figures["initial_sync_100k_s"], figures["edge_rss_mb"] = sync_command(fresh)

    away = await make_edge(hub, folder / "away", "Away Kitchen")
    away_changes = fill_outbox(away.settings.database_path, offline)
    await hub_bookings(hub, away.site_id, away.resource_id, away.renter_id, 1000)
    figures["offline_changes"] = away_changes
    figures["offline_30d_50k_s"], _ = sync_command(away)
    return figures


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="prep-bench-sync-") as tmp:
        folder = Path(tmp)
        hub = Hub(folder)
        hub.create()
        hub.start()
        try:
            figures = asyncio.run(measure(folder, hub, quick))
        finally:
            hub.stop()
            hub.drop()
    peer = pouchdb(figures["push_changes"])
    figures["pouchdb_docs_per_s"] = peer.get("replicate_docs_per_s", float("nan"))
    figures["pouchdb"] = peer
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {"benchmark": "sync", "stamp": stamp, "quick": quick, **figures}


def mark(ok: bool, target: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {target}"


def render(r: dict[str, Any]) -> str:
    peer = r["pouchdb_docs_per_s"]
    ratio = r["push_changes_per_s"] / peer if peer == peer and peer else float("nan")
    rows = [
        ("push", f"{r['push_changes_per_s']:,.0f}/s",
         mark(r["push_changes_per_s"] >= 20_000 and ratio >= 5,
              f">= 20,000/s and >= 5x PouchDB ({ratio:.1f}x)")),
        ("PouchDB replicate", f"{peer:,.0f}/s", f"peer, N = {r['push_changes']:,}"),
        ("bytes per change", f"{r['bytes_per_change']:.0f} B",
         mark(r["bytes_per_change"] <= 100, "<= 100 B")),
        ("incremental 1k", f"{r['incremental_1k_ms']:.0f} ms",
         mark(r["incremental_1k_ms"] <= 150, "<= 150 ms")),
        ("no-op round", f"{r['noop_ms']:.1f} ms", mark(r["noop_ms"] <= 10, "<= 10 ms")),
        ("no-op bytes", f"{r['noop_bytes']:,} B", mark(r["noop_bytes"] <= 1024, "<= 1 KiB")),
        ("audit ingest", f"{r['audit_events_per_s']:,.0f}/s",
         mark(r["audit_events_per_s"] >= 50_000, ">= 50,000/s")),
        (f"initial sync {r['initial_sync_bookings']:,}", f"{r['initial_sync_100k_s']:.1f} s",
         mark(r["initial_sync_100k_s"] <= 5, "<= 5 s for 100k (process start included)")),
        ("edge RSS, bootstrap", f"{r['edge_rss_mb']:.0f} MB",
         mark(r["edge_rss_mb"] <= 150, "<= 150 MB")),
        (f"offline {r['offline_changes']:,} changes", f"{r['offline_30d_50k_s']:.1f} s",
         mark(r["offline_30d_50k_s"] <= 60, "<= 60 s for 50k")),
    ]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{name:<{width}}  {value:>12}  {note}" for name, value, note in rows)


KEYS = (
    "push_changes_per_s",
    "pouchdb_docs_per_s",
    "initial_sync_100k_s",
    "incremental_1k_ms",
    "noop_ms",
    "noop_bytes",
    "bytes_per_change",
    "edge_rss_mb",
    "audit_events_per_s",
    "offline_30d_50k_s",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller N, for CI-sized runs")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    result = run(args.quick)
    publish("sync", result, render(result), KEYS, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
