"""Benchmarks of the edge appliance over loopback HTTP and in process.

``python -m bench.edge [--quick] [--json]`` starts a real ``prep-edge serve`` on a free loopback
port and measures: start to ready; idle RSS; booking creation at a fixed arrival rate (open loop,
200/s) and check-in at 100/s, each with p50/p99 latency beside the target; and, in process, the
cost of the outbox and audit capture against a plain insert of the same booking row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.edge_capture import capture_overhead
from bench.edge_inprocess import request_cost
from bench.edge_site import COMPLIANT_RENTER, COMPLIANT_SITE
from bench.loadgen import Call, Pool, open_loop
from bench.report import publish

ROOT = Path(__file__).resolve().parents[1]


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


class Node:
    """A served edge with a host session, a compliant site, stations and renters."""

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
    renters = [
        (
            await client.post(
                "/api/v1/renters", json={**COMPLIANT_RENTER, "name": f"Bench Bakery {n}"}
            )
        ).json()["id"]
        for n in range(stations)
    ]
    return resources, renters


def slots(
    resources: list[str], renters: list[str], count: int, first_day: int
) -> list[dict[str, str]]:
    """Distinct 2-hour slots, local 06:00-22:00, across stations and days; a renter per station."""
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
                "renter_id": renters[station],
                "start": start.isoformat(),
                "end": (start + timedelta(hours=2)).isoformat(),
            }
        )
    return bodies


async def http_figures(node: Node, quick: bool) -> dict[str, Any]:
    creates = 400 if quick else 4000
    checkins = 200 if quick else 2000
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
        resources, renters = await setup_site(client, 20)
        authorization = client.headers["Authorization"]
        create_bodies = slots(resources, renters, creates, first_day=2 + checkins // 160)
        ids = []
        for body in slots(resources, renters, checkins, 0):  # from today on, to check in
            response = await client.post("/api/v1/bookings", json=body)
            if response.status_code == 201:
                ids.append(response.json()["id"])
    pool = Pool("127.0.0.1", node.port, headers={"Authorization": authorization})
    try:
        booking = await open_loop(
            pool, 200, creates, lambda i: Call("POST", "/api/v1/bookings", create_bodies[i])
        )
        checkin = await open_loop(
            pool, 100, len(ids), lambda i: Call("POST", f"/api/v1/bookings/{ids[i]}/check-in")
        )
    finally:
        await pool.close()
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
    publish("edge", result, render(result), list(result), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
