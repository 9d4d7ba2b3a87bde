"""Benchmarks of the edge appliance over loopback HTTP and in process.

``python -m bench.edge [--quick] [--json]`` starts a real ``prep-edge serve`` on a free loopback
port and measures: start to ready; idle RSS; booking creation at a fixed arrival rate (open loop,
200/s) and check-in at 100/s, each with p50/p99 latency beside the target; and, in process, the
cost of the outbox and audit capture against a plain insert of the same booking row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.edge_capture import capture_overhead
from bench.edge_inprocess import request_cost
from bench.edge_site import COMPLIANT_RENTER, COMPLIANT_SITE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def edge(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "edge", *args],
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p99_ms": cuts[98]}


async def open_loop(
    rate: float, count: int, call: Callable[[int], Awaitable[int]]
) -> dict[str, Any]:
    """Fire ``count`` calls at ``rate`` per second regardless of replies; time each one."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(index: int) -> None:
        began = time.perf_counter()
        status = await call(index)
        latencies.append((time.perf_counter() - began) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    start = time.perf_counter()
    for index in range(count):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {
        "rate": rate,
        "sent": count,
        "achieved_per_s": count / elapsed,
        "statuses": statuses,
        **percentiles(latencies),
    }


class Node:
    """A served edge with a host session, a compliant site, stations and a renter."""

    def __init__(self, folder: Path) -> None:
        self.data = folder / "node"
        out = edge(
            "init",
            "--data-dir",
            str(self.data),
            "--site-name",
            "Bench Kitchen",
            "--jurisdiction",
            "san_francisco",
            "--timezone",
            "America/Los_Angeles",
        )
        match = re.search(r"password\W+(\S+)", out, re.IGNORECASE)
        if match is None:
            raise SystemExit(f"could not read the host password from init:\n{out}")
        self.password = match.group(1)
        edge(
            "user",
            "add",
            "--data-dir",
            str(self.data),
            "--role",
            "host",
            "--username",
            "bench",
            "--password-stdin",
            stdin="bench-password-123\n",
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = (folder / "serve.log").open("wb")  # read it when a run goes wrong

    def start(self) -> float:
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge",
                "serve",
                "--data-dir",
                str(self.data),
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PREP_EDGE_JOBS__ENABLED": "false"},
        )
        while time.perf_counter() - began < 30:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=0.5).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                time.sleep(0.02)
        raise SystemExit("the edge did not become ready in 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


async def setup_site(client: httpx.AsyncClient, stations: int) -> tuple[list[str], str]:
    token = (
        await client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": "bench-password-123"}
        )
    ).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    await client.patch("/api/v1/site", json=COMPLIANT_SITE)
    resources = [
        (
            await client.post(
                "/api/v1/resources",
                json={"name": f"Station {n}", "kind": "station", "hourly_rate_cents": 3000},
            )
        ).json()["id"]
        for n in range(stations)
    ]
    renter = (await client.post("/api/v1/renters", json=COMPLIANT_RENTER)).json()["id"]
    return resources, renter


def slots(resources: list[str], renter: str, count: int, first_day: int) -> list[dict[str, str]]:
    """Distinct 2-hour slots, local 06:00-22:00, across stations and days."""
    today = datetime.now(UTC).date()
    bodies = []
    for index in range(count):
        station, rest = index % len(resources), index // len(resources)
        day, slot = first_day + rest // 8, rest % 8
        start = datetime.combine(today + timedelta(days=day), datetime.min.time()) + timedelta(
            hours=6 + 2 * slot
        )
        bodies.append(
            {
                "resource_id": resources[station],
                "renter_id": renter,
                "start": start.isoformat(),
                "end": (start + timedelta(hours=2)).isoformat(),
            }
        )
    return bodies


async def http_figures(node: Node, quick: bool) -> dict[str, Any]:
    creates = 400 if quick else 4000
    checkins = 200 if quick else 2000
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=node.url, limits=limits, timeout=30) as client:
        resources, renter = await setup_site(client, 20)
        create_bodies = slots(resources, renter, creates, first_day=2)

        async def create(index: int) -> int:
            return (await client.post("/api/v1/bookings", json=create_bodies[index])).status_code

        booking = await open_loop(200, creates, create)
        today_bodies = [
            {**b, "start": b["start"], "end": b["end"]}
            for b in slots(resources, renter, checkins, 0)
        ]
        ids = []
        for body in today_bodies:
            response = await client.post("/api/v1/bookings", json=body)
            if response.status_code == 201:
                ids.append(response.json()["id"])

        async def check_in(index: int) -> int:
            return (await client.post(f"/api/v1/bookings/{ids[index]}/check-in")).status_code

        checkin = await open_loop(100, len(ids), check_in)
    return {"booking_create": booking, "check_in": checkin}


def mark(ok: bool, target: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {target}"


def render(result: dict[str, Any]) -> str:
    b, c, o = result["booking_create"], result["check_in"], result["capture"]
    ib, ic = result["in_process"]["booking_create"], result["in_process"]["check_in"]
    rows = [
        (
            "start to ready",
            f"{result['start_to_ready_s']:.2f} s",
            mark(result["start_to_ready_s"] <= 2, "<= 2 s"),
        ),
        (
            "idle RSS",
            f"{result['idle_rss_mb']:.0f} MB",
            mark(result["idle_rss_mb"] <= 120, "<= 120 MB"),
        ),
        (
            "booking create p50 @200/s",
            f"{b['p50_ms']:.1f} ms",
            f"achieved {b['achieved_per_s']:.0f}/s {b['statuses']}",
        ),
        ("booking create p99 @200/s", f"{b['p99_ms']:.1f} ms", mark(b["p99_ms"] <= 20, "<= 20 ms")),
        (
            "check-in p50 @100/s",
            f"{c['p50_ms']:.1f} ms",
            f"achieved {c['achieved_per_s']:.0f}/s {c['statuses']}",
        ),
        ("check-in p99 @100/s", f"{c['p99_ms']:.1f} ms", mark(c["p99_ms"] <= 20, "<= 20 ms")),
        (
            "booking create, alone",
            f"{ib['p50_ms']:.1f} ms",
            f"p50 in process; p99 {ib['p99_ms']:.1f} ms",
        ),
        ("check-in, alone", f"{ic['p50_ms']:.1f} ms", f"p50 in process; p99 {ic['p99_ms']:.1f} ms"),
        ("plain insert", f"{o['plain_us']:.0f} us", "one booking row, own transaction"),
        (
            "with audit + outbox",
            f"{o['captured_us']:.0f} us",
            mark(o["ratio"] <= 2.5, f"<= 2.5x ({o['ratio']:.2f}x)"),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}  {note}" for name, value, note in rows)


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="prep-bench-edge-") as tmp:
        node = Node(Path(tmp))
        ready = node.start()
        try:
            time.sleep(2)
            idle = rss_mb(node.process.pid) if node.process else float("nan")
            figures = asyncio.run(http_figures(node, quick))
        finally:
            node.stop()
        capture = capture_overhead(Path(tmp) / "capture", 200 if quick else 2000)
        alone = request_cost(Path(tmp) / "alone", 100 if quick else 170)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {
        "benchmark": "edge",
        "stamp": stamp,
        "quick": quick,
        "start_to_ready_s": ready,
        "idle_rss_mb": idle,
        **figures,
        "capture": capture,
        "in_process": alone,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for CI-sized runs")
    parser.add_argument(
        "--json", action="store_true", help="also print the result as one JSON line"
    )
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(render(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in (f"edge-{result['stamp']}.json", "edge-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
