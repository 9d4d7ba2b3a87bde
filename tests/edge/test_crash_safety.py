"""A real ``prep-edge serve`` killed with SIGKILL mid-stream loses no acknowledged booking.

The node is seeded before the server starts; a client streams booking creations (distinct
two-hour slots on two stations over the coming weeks) from a few threads; the server is killed
once enough have been acknowledged, then restarted. The database must pass
``PRAGMA integrity_check``, the audit chain must verify, and every booking answered 201 must be
there.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from edge.cli import main
from edge.runtime import open_services
from edge.settings import EdgeSettings
from edge.setup import InitResult
from sync.vocabulary import Role
from tests.edge.conftest import PASSWORD
from tests.edge.seed import Seeded, seed

ZONE = ZoneInfo("America/Los_Angeles")
ACKED_BEFORE_KILL = 40
WORKERS = 4
STAFF = "door"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def slots(resources: list[str]) -> Iterator[tuple[str, datetime, datetime]]:
    """Distinct two-hour slots from tomorrow (site time), 06:00 to 22:00, on each resource."""
    first = datetime.now(ZONE).date() + timedelta(days=1)
    for day in itertools.count():
        date = first + timedelta(days=day)
        for hour in range(6, 22, 2):
            start = datetime(date.year, date.month, date.day, hour, tzinfo=ZONE)
            for resource in resources:
                yield resource, start, start + timedelta(hours=2)


async def prepare(data_dir: Path) -> Seeded:
    from edge.users import create_user

    async with open_services(EdgeSettings.load(data_dir, jobs={"enabled": False})) as services:
        seeded = await seed(services)
        await create_user(services, STAFF, Role.STAFF, PASSWORD)
    return seeded


class Server:
    """``python -m edge serve`` in a child process."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        argv = ["-m", "edge", "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, *argv], stdout=sink, stderr=sink, env=dict(os.environ)
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.process.kill()
        pytest.fail(f"serve was not ready in {timeout} s:\n{self.log.read_text()}")

    def headers(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/login", json={"username": STAFF, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


class Stream:
    """What the client saw: bookings answered 201, and any other answer (none expected)."""

    def __init__(self) -> None:
        self.acked: dict[str, tuple[str, datetime]] = {}
        self.refused: list[str] = []
        self.stop = threading.Event()


def stream_bookings(server: Server, seeded: Seeded, stream: Stream) -> list[threading.Thread]:
    """Worker threads creating bookings until stopped or the server goes away."""
    headers = server.headers()
    todo = slots([seeded.resource_id, seeded.other_resource_id])
    lock = threading.Lock()

    def work() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as client:
            while not stream.stop.is_set():
                with lock:
                    resource, start, end = next(todo)
                body = {
                    "resource_id": resource,
                    "renter_id": seeded.renter_id,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                }
                try:
                    answer = client.post("/api/v1/bookings", json=body)
                except httpx.TransportError:
                    return  # the server is gone: this one's fate is unknown, and not asserted
                with lock:
                    if answer.status_code == 201:
                        stream.acked[answer.json()["id"]] = (resource, start)
                    else:
                        stream.refused.append(f"{answer.status_code} {answer.text}")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    return threads


def test_acknowledged_bookings_survive_a_sigkill(
    node: tuple[Path, InitResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = node[0]
    seeded = asyncio.run(prepare(data_dir))
    log = tmp_path / "serve.log"
    server = Server(data_dir, log)
    stream = Stream()
    try:
        threads = stream_bookings(server, seeded, stream)
        deadline = time.monotonic() + 15
        while len(stream.acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
        server.process.wait(timeout=10)
    finally:
        stream.stop.set()
        server.process.kill()
    for thread in threads:
        thread.join(timeout=10)
    assert stream.refused == []
    acked = stream.acked
    assert len(acked) >= ACKED_BEFORE_KILL, f"only {len(acked)} acknowledged:\n{log.read_text()}"

    restarted = Server(data_dir, log)
    try:
        headers = restarted.headers()
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=5) as client:
            for booking_id, (resource, start) in acked.items():
                answer = client.get(f"/api/v1/bookings/{booking_id}")
                assert answer.status_code == 200, f"lost booking {booking_id}: {answer.text}"
                found = answer.json()
                assert found["resource_id"] == resource
                assert datetime.fromisoformat(found["start"]) == start.astimezone(UTC)
    finally:
        restarted.process.send_signal(signal.SIGTERM)
        returncode = restarted.process.wait(timeout=15)
    assert returncode in (0, -signal.SIGTERM), log.read_text()

    with sqlite3.connect(data_dir / "edge.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = db.execute("SELECT count(*) FROM booking").fetchone()[0]
    assert stored >= len(acked)
    capsys.readouterr()
    assert main(["audit-verify", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
