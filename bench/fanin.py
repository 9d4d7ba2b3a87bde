"""Hub fan-in: hundreds of edges polling ``GET /sync/v1/pull`` at once, each request signed.

``python -m bench.fanin [--quick] [--json] [--interval S]``: a real ``prep-hub serve`` on a
throwaway database; 500 nodes (``--quick``: 100) enrol through the real signed endpoint, each
with its own Ed25519 key (tokens issued in process); each site's feed gets 20 changes by COPY.

Then every node polls every ``--interval`` s (default 5: an edge's ``sync.interval_seconds``;
1 is five times a fleet's load) for 20 rounds (``--quick``: 5), phases spread over the interval,
each on its own keep-alive connection. Polls are open loop: latency counts from when a poll was
due. Every poll asks from checkpoint 0 with an outbox report, so each answer carries the site's
20 changes (heavier than a caught-up node's empty page). The first round (connections opening)
is not counted; a poll unanswered after 30 s (an edge's own timeout) counts as an error.

A lean raw-socket client (``bench.loadgen`` style) shares the 2 cores with the hub and
PostgreSQL; the CPU each used is reported, beside one node polling alone in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.report import publish
from bench.sync_setup import SERVER, Hub
from edge.hub_link import HubLink
from hub.db import Database
from hub.enrollment import issue_token
from sync.hlc import Stamp
from sync.ids import uuid7
from sync.signing import new_device_key, sign_request
from sync.wire import decode_pull

ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 500.0
FEED_ROWS = 20
TARGET = "/sync/v1/pull?checkpoint=0&limit=5000&outbox_depth=0"  # as edge.sync_pull asks
START = datetime(2026, 1, 5, 14, tzinfo=UTC)
ENROL_CONCURRENCY = 8
POLL_TIMEOUT_S = 30.0  # an edge's hub link gives up after 30 s (edge.hub_link.TIMEOUT)


def _new_id() -> str:
    return str(uuid7(int(time.time() * 1000)))


@dataclass
class Node:
    node_id: str
    site_id: str
    key: Ed25519PrivateKey


# --- the fleet ----------------------------------------------------------------------------------


async def issue_tokens(url: str, count: int) -> list[str]:
    """One enrolment token per new site, in one transaction."""
    db = Database(url, pool_size=1)
    try:
        async with db.write() as session:
            now, life = datetime.now(UTC), timedelta(hours=1)
            return [
                (await issue_token(session, f"Fan-in Kitchen {i:03d}", now, life)).token
                for i in range(count)
            ]
    finally:
        await db.dispose()


async def enrol(base: str, tokens: list[str]) -> list[Node]:
    """Each node enrols with its own key through ``POST /sync/v1/enroll``, a few at a time."""
    slots = asyncio.Semaphore(ENROL_CONCURRENCY)
    transport = httpx.AsyncHTTPTransport()  # shared: a client's own would build a TLS context

    async def one(index: int, token: str) -> Node:
        node = Node(f"fanin-{index:03d}", _new_id(), new_device_key())
        site = {"id": node.site_id, "name": f"Fan-in Kitchen {index:03d}",
                "jurisdiction": "san_francisco", "timezone": "America/Los_Angeles"}  # fmt: skip
        link = HubLink(base, node.node_id, node.key, lambda: int(time.time() * 1000), transport)
        async with slots:
            await link.enroll(token, site, generation=_new_id())
        return node

    try:
        return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))
    finally:
        await transport.aclose()


def _booking(site_id: str, index: int) -> tuple[str, dict[str, Any]]:
    begins = START + timedelta(days=index // 8, hours=2 * (index % 8))
    stamp = Stamp(int(START.timestamp() * 1000) + index, 0, "hub").encode()
    booking_id = _new_id()
    return stamp, {
        "id": booking_id, "site_id": site_id, "resource_id": f"station-{index % 4}",
        "renter_id": f"renter-{index % 7}", "starts_at": begins.isoformat(),
        "ends_at": (begins + timedelta(hours=2)).isoformat(), "status": "confirmed",
        "hold_expires_at": None, "price_cents": 6210, "paid": False,
        "quote": {"lines": [{"code": "base", "label": "Station time", "cents": 6000},
                            {"code": "crt", "label": "Commercial rents tax", "cents": 210}],
                  "total_cents": 6210, "currency": "USD"},
        "created_by": "host:hub", "created_at": START.isoformat(), "updated_at": START.isoformat(),
        "confirmed_hlc": stamp, "updated_hlc": stamp, "origin_node": "hub",
    }  # fmt: skip


async def fill_feeds(database: str, nodes: list[Node]) -> None:
    """``FEED_ROWS`` hub-made booking changes in each site's feed, by COPY."""
    rows = []
    for node in nodes:
        for index in range(FEED_ROWS):
            stamp, payload = _booking(node.site_id, index)
            rows.append((node.site_id, "booking", payload["id"], "upsert", json.dumps(payload),
                         stamp, "hub", START))  # fmt: skip
    conn = await asyncpg.connect(f"{SERVER}/{database}")
    try:
        await conn.copy_records_to_table(
            "feed",
            records=rows,
            columns=["site_id", "entity", "entity_id", "op", "payload", "hlc", "origin", "at"],
        )
        await conn.execute("VACUUM (ANALYZE) feed")
    finally:
        await conn.close()


# --- polling ------------------------------------------------------------------------------------


class PollFailed(Exception):
    """The hub closed the connection or answered something unreadable."""


@dataclass
class Poller:
    """One node's keep-alive connection to the hub, sending signed pulls as raw HTTP/1.1."""

    node: Node
    host: str
    port: int
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    def _request(self) -> bytes:
        now_ms = int(time.time() * 1000)
        headers = sign_request(self.node.key, self.node.node_id, "GET", TARGET, b"", now_ms)
        lines = [f"GET {TARGET} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def poll(self) -> tuple[int, bytes]:
        """One signed pull; a connection the hub closed meanwhile is opened again once."""
        fresh = self._writer is None
        try:
            return await self._exchange()
        except (ConnectionError, asyncio.IncompleteReadError, PollFailed):
            self.close()
            if fresh:
                raise
            return await self._exchange()

    async def _exchange(self) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(self._request())
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length = int(head.split(b" ", 2)[1]), None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise PollFailed("an answer without Content-Length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    last_done: float = 0.0

    def add(self, outcome: str, due: float) -> None:
        done = time.perf_counter()
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
        if outcome == "200":
            self.latencies_ms.append((done - due) * 1000)
        else:
            self.errors += 1
        self.last_done = max(self.last_done, done)


async def node_loop(
    poller: Poller, first_due: float, rounds: int, tally: Tally, interval: float
) -> None:
    """Poll at ``first_due + k * interval``; round 0 opens the connection and is not counted."""
    for round_no in range(rounds + 1):
        due = first_due + round_no * interval
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        try:
            status, body = await asyncio.wait_for(poller.poll(), POLL_TIMEOUT_S)
            outcome = str(status)
            if round_no == 0 and status == 200:
                changes = len(decode_pull(body, max_raw_bytes=1 << 24).changes)
                outcome = "200" if changes == FEED_ROWS else f"200 with {changes} changes"
        except (OSError, asyncio.IncompleteReadError, PollFailed, TimeoutError) as exc:
            outcome = type(exc).__name__
            poller.close()  # a timed-out answer may still arrive: never read it as the next one
        if round_no > 0:
            tally.add(outcome, due)
    poller.close()


async def alone(node: Node, host: str, port: int, polls: int = 50) -> float:
    """The reference: one node polling back to back on an otherwise idle hub (p50, ms)."""
    poller, samples = Poller(node, host, port), []
    for _ in range(polls + 1):
        began = time.perf_counter()
        status, _ = await poller.poll()
        if status != 200:
            raise SystemExit(f"a lone pull answered {status}")
        samples.append((time.perf_counter() - began) * 1000)
    poller.close()
    return statistics.median(samples[1:])


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # USER_HZ is 100 on Linux


class BackendCpu:
    """CPU used by the PostgreSQL backends serving one database (same machine), sampled twice a
    second so a pooled connection closed during the run still counts up to its last sample."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    async def sample(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.database,
        )
        for (pid,) in rows:
            with contextlib.suppress(OSError):  # a backend that ended meanwhile
                self.last[pid] = _cpu_s(pid)

    async def watch(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(f"{SERVER}/{self.database}")
        try:
            await self.sample(conn)
            self.first = dict(self.last)  # backends open before the run count from here
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                await self.sample(conn)
        finally:
            await conn.close()

    def used_s(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


async def fan_in(hub: Hub, nodes: list[Node], rounds: int, interval: float) -> dict[str, Any]:
    host, port = "127.0.0.1", hub.port
    alone_ms = await alone(nodes[0], host, port)
    tally = Tally()
    pid = hub.process.pid if hub.process else 0
    postgres, stop = BackendCpu(hub.database), asyncio.Event()
    watcher = asyncio.create_task(postgres.watch(stop))
    hub_cpu, own_cpu, wall = _cpu_s(pid), time.process_time(), time.perf_counter()
    begins = wall + 0.2
    spread = interval / len(nodes)
    await asyncio.gather(*(
        node_loop(Poller(n, host, port), begins + i * spread, rounds, tally, interval)
        for i, n in enumerate(nodes)
    ))  # fmt: skip
    window = tally.last_done - (begins + interval)  # counted rounds start one interval in
    hub_cpu, own_cpu = _cpu_s(pid) - hub_cpu, time.process_time() - own_cpu
    wall = time.perf_counter() - wall
    stop.set()
    await watcher
    cuts = statistics.quantiles(tally.latencies_ms, n=100) if len(tally.latencies_ms) > 1 else []
    polls = len(tally.latencies_ms) + tally.errors + len(nodes)  # the uncounted first round too
    return {
        "edges": len(nodes),
        "seconds": rounds * interval,
        "interval_s": interval,
        "polls": len(tally.latencies_ms) + tally.errors,
        "pull_p50_ms": cuts[49] if cuts else float("nan"),
        "pull_p99_ms": cuts[98] if cuts else float("nan"),
        "pull_max_ms": max(tally.latencies_ms, default=float("nan")),
        "polls_per_s": len(tally.latencies_ms) / window,
        "errors": tally.errors,
        "outcomes": tally.statuses,
        "alone_p50_ms": alone_ms,
        "hub_cpu_pct": 100 * hub_cpu / wall,
        "hub_cpu_ms_per_poll": 1000 * hub_cpu / polls,
        "client_cpu_pct": 100 * own_cpu / wall,
        "postgres_cpu_pct": 100 * postgres.used_s() / wall,
    }


async def measure(hub: Hub, count: int, rounds: int, interval: float) -> dict[str, Any]:
    began = time.perf_counter()
    nodes = await enrol(hub.base, await issue_tokens(hub.url, count))
    await fill_feeds(hub.database, nodes)
    setup_s = time.perf_counter() - began
    return {**await fan_in(hub, nodes, rounds, interval), "setup_s": setup_s}


def run(quick: bool, interval: float) -> dict[str, Any]:
    count, rounds = (100, 5) if quick else (500, 20)
    with tempfile.TemporaryDirectory(prefix="prep-bench-fanin-") as tmp:
        hub = Hub(Path(tmp))
        hub.create()
        hub.start()
        try:
            figures = asyncio.run(measure(hub, count, rounds, interval))
        finally:
            hub.stop()
            hub.log.close()
            hub.drop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {"benchmark": "fanin", "stamp": stamp, "quick": quick, **figures}


def render(r: dict[str, Any]) -> str:
    p99 = r["pull_p99_ms"]
    ratio = p99 / r["alone_p50_ms"] if r["alone_p50_ms"] else float("nan")
    mark = "ok  " if p99 <= TARGET_P99_MS and r["errors"] == 0 else "MISS"
    rows = [
        (f"{r['edges']} edges, pull p99", f"{p99:,.0f} ms",
         f"{mark} <= {TARGET_P99_MS:.0f} ms ({ratio:.0f}x one node alone)"),
        ("pull p50", f"{r['pull_p50_ms']:,.1f} ms", f"max {r['pull_max_ms']:,.0f} ms"),
        ("one node alone, p50", f"{r['alone_p50_ms']:.1f} ms", "reference, same run"),
        ("polls/s", f"{r['polls_per_s']:,.0f}/s",
         f"offered {r['edges'] / r['interval_s']:,.0f}/s: each edge every {r['interval_s']:g} s"),
        ("errors", f"{r['errors']:,}", f"of {r['polls']:,} polls: {r['outcomes']}"),
        ("CPU: hub / PostgreSQL / client",
         f"{r['hub_cpu_pct']:.0f}/{r['postgres_cpu_pct']:.0f}/{r['client_cpu_pct']:.0f}%",
         "of one core each, during the polling"),
        ("hub CPU per poll", f"{r['hub_cpu_ms_per_poll']:.1f} ms",
         f"{r['edges'] / r['interval_s']:,.0f} polls/s need"
         f" {r['hub_cpu_ms_per_poll'] * r['edges'] / r['interval_s'] / 1000:.1f} cores"),
        ("setup", f"{r['setup_s']:.1f} s", "tokens, signed enrolments, feed COPY"),
    ]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    lines = [f"{name:<{width}}  {value:>12}  {note}" for name, value, note in rows]
    lines.append("client, hub and PostgreSQL share this box's 2 cores")
    return "\n".join(lines)


KEYS = ("edges", "pull_p50_ms", "pull_p99_ms", "polls_per_s", "errors")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanin", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 edges, 5 rounds (not 500, 20)")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between an edge's polls"
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    result = run(args.quick, args.interval)
    publish("fanin", result, render(result), KEYS, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
