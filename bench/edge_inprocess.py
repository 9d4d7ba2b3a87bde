"""Edge request cost without the network or a load generator: one request at a time, in process.

The app runs in this process behind ``httpx.ASGITransport`` (the lifespan opened by hand), so
the figures are the server's own work per request (routing, auth, the service, SQLite with a
durable commit, the JSON answer): a reference for the loopback-under-load figures beside it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.edge_site import COMPLIANT_RENTER, COMPLIANT_SITE
from edge.app import create_app
from edge.clock import FixedClock
from edge.settings import EdgeSettings
from edge.setup import initialise
from edge.users import create_user
from sync.vocabulary import Role

START = datetime(2025, 11, 5, 14, tzinfo=UTC)  # 06:00 in San Francisco


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p99_ms": cuts[98]}


async def _timed(call: Any) -> tuple[float, int]:
    began = time.perf_counter()
    response = await call
    return (time.perf_counter() - began) * 1000, response.status_code


async def _measure(folder: Path, count: int) -> dict[str, Any]:
    app = create_app(EdgeSettings.load(folder, jobs={"enabled": False}), clock=FixedClock(START))
    async with app.lifespan():
        await create_user(app.state.services, "bench", Role.HOST, "bench-password-123")
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # an ASGI app
        client = httpx.AsyncClient(transport=transport, base_url="http://edge")
        login = await client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": "bench-password-123"}
        )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        await client.patch("/api/v1/site", json=COMPLIANT_SITE)
        resource = (
            await client.post(
                "/api/v1/resources",
                json={"name": "Station", "kind": "station", "hourly_rate_cents": 3000},
            )
        ).json()["id"]
        renter = (await client.post("/api/v1/renters", json=COMPLIANT_RENTER)).json()["id"]
        creates, ids = [], []
        for index in range(count):  # one 2-hour slot a day, 08:00-10:00 local, day after day
            start = START + timedelta(days=1 + index, hours=2)
            body = {
                "resource_id": resource,
                "renter_id": renter,
                "start": start.isoformat(),
                "end": (start + timedelta(hours=2)).isoformat(),
            }
            began = time.perf_counter()
            response = await client.post("/api/v1/bookings", json=body)
            creates.append((time.perf_counter() - began) * 1000)
            ids.append(response.json()["id"])
        checkins = [(await _timed(client.post(f"/api/v1/bookings/{i}/check-in")))[0] for i in ids]
    return {
        "count": count,
        "booking_create": _percentiles(creates),
        "check_in": _percentiles(checkins),
    }


def request_cost(folder: Path, count: int) -> dict[str, Any]:
    """Sequential booking creations then check-ins on a fresh node in ``folder``."""
    initialise(folder, "Bench", "san_francisco", "America/Los_Angeles", START, dict(os.environ))
    return asyncio.run(_measure(folder, count))
