# ruff: noqa: F811 - the PostgreSQL fixture imported from the hub suite is a parameter here
"""A fleet of real processes over loopback HTTP: one ``prep-hub serve`` and two ``prep-edge serve``.

``fleet`` (one per module) creates the database ``prep_e2e_<pid>`` on the test PostgreSQL server
(``tests.hub.conftest.pg_server``), runs ``prep-hub migrate``, ``admin create`` and ``serve`` with
secrets generated for the run, then sets up two edges exactly as an operator would: ``prep-edge
init``, ``prep-hub enroll-token``, ``prep-edge enroll``, ``prep-edge user add``, ``prep-edge serve``
with a short sync interval, and the site, stations and renter through each edge's HTTP API. Its
teardown kills every process, even after a failure, and drops the database.

How a test reaches things: ``fleet.hub`` (a ``processes.Service``), ``fleet.edges`` (``Edge``: its
service, HTTP calls signed in as its host, its SQLite read-only), ``fleet.db`` (``HubDb``, reads on
the hub database) and ``fleet.explain()`` (every process's log tail, for assertion messages).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.processes import Command, Service, Services, script
from tests.edge.seed import COMPLIANT_RENTER, COMPLIANT_SITE
from tests.hub.conftest import pg_server  # noqa: F401 - fixture

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@prep.test"
JURISDICTION = "san_francisco"
TIMEZONE = "America/Los_Angeles"
ZONE = ZoneInfo(TIMEZONE)
STATIONS = 3
PLACEHOLDERS = ("changeme", "change-me", "secret", "password", "example", "xxxx", "0000")
HOST = "e2e-host"
Slot = tuple[str, datetime, datetime]  # resource id, start, end
EDGE_SYNC = {
    "PREP_EDGE_SYNC__INTERVAL_SECONDS": "0.5",
    "PREP_EDGE_SYNC__MAX_BACKOFF_SECONDS": "2",
}
# edge-b is the one killed mid-push: small batches make a long push of many requests.
EDGES: tuple[tuple[str, dict[str, str]], ...] = (
    ("edge-a", {}),
    ("edge-b", {"PREP_EDGE_SYNC__BATCH_CHANGES": "200"}),
)


def generated_secret() -> str:
    """32 random bytes, URL-safe base64 (43 characters) that no placeholder check can trip on."""
    while True:
        value = secrets.token_urlsafe(32)
        if not any(p in value.lower() for p in PLACEHOLDERS):
            return value


class HubDb:
    """Reads on the hub database from synchronous tests: one connection on a private loop."""

    def __init__(self, dsn: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(dsn))

    def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(self.loop.run_until_complete(self.conn.fetch(sql, *args)))

    def value(self, sql: str, *args: Any) -> Any:
        return self.loop.run_until_complete(self.conn.fetchval(sql, *args))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


@dataclass
class Edge:
    """One edge node: its process, its host's session, its stations and renter."""

    name: str
    data_dir: Path
    service: Service
    node_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    resource_ids: list[str] = field(default_factory=list)
    renter_id: str = ""
    _slots: Iterator[Slot] | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request as the site's host; an unreachable edge fails with its log."""
        try:
            return self.service.http.request(method, path, headers=self.headers, **kwargs)
        except httpx.TransportError as exc:
            where = f"{self.service.url}{path}"
            raise AssertionError(f"{method} {where}: {exc!r}\n{self.service.explain()}") from None

    def status(self) -> dict[str, Any]:
        answer = self.call("GET", "/api/v1/sync/status")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    @property
    def site_name(self) -> str:
        return f"E2E Kitchen {self.name}"

    def sqlite(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        uri = f"file:{self.data_dir / 'edge.sqlite'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def next_slots(self, count: int) -> list[Slot]:
        """``count`` fresh two-hour slots (06:00-22:00 site time, from tomorrow, every station)."""
        if self._slots is None:
            self._slots = _slots(self.resource_ids)
        return list(itertools.islice(self._slots, count))

    def booking_body(self, slot: Slot) -> dict[str, Any]:
        resource, start, end = slot
        return {
            "resource_id": resource,
            "renter_id": self.renter_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "status": "confirmed",
        }

    def book(self, slot: Slot) -> dict[str, Any]:
        answer = self.call("POST", "/api/v1/bookings", json=self.booking_body(slot))
        assert answer.status_code == 201, f"{self.name}: {answer.status_code} {answer.text}"
        body: dict[str, Any] = answer.json()
        return body


def _slots(resources: list[str]) -> Iterator[Slot]:
    first = datetime.now(ZONE).date() + timedelta(days=1)
    for day in itertools.count():
        date = first + timedelta(days=day)
        for hour in range(6, 22, 2):
            start = datetime(date.year, date.month, date.day, hour, tzinfo=ZONE)
            for resource in resources:
                yield resource, start, start + timedelta(hours=2)


@dataclass
class Fleet:
    hub: Service
    edges: list[Edge]
    db: HubDb
    services: Services

    def step(self, text: str) -> None:
        """Note a step of the test on the timeline that failure messages start with."""
        self.services.timeline.note(text)

    def explain(self) -> str:
        return self.services.explain()


@pytest.fixture(scope="module")
def e2e_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database ``prep_e2e_<pid>`` (``postgresql+asyncpg://`` URL), dropped after."""
    name = f"prep_e2e_{os.getpid()}"
    admin_dsn = make_url(pg_server).set(drivername="postgresql").render_as_string(False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def fleet(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The hub and both edges, set up and serving; logs and ``timeline.txt`` stay in ``root``."""
    root = tmp_path_factory.mktemp("e2e")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREP_")}
    hub_env = {
        **base,
        "PREP_HUB_DATABASE_URL": e2e_database,
        "PREP_HUB_JWT_SECRET": generated_secret(),
        "PREP_HUB_PII_KEY": generated_secret(),
        "PREP_HUB_BLIND_INDEX_KEY": generated_secret(),
        "PREP_HUB_DATA_DIR": str(root / "hub-data"),
        # The fleet's reference bundle is the one edge-a's init built and signed (version 1,
        # like every edge's): the hub needs one to book online.
        "PREP_HUB_REFDB_PUBLIC_KEY": str(root / EDGES[0][0] / "keys" / "refdb.pub"),
    }
    services = Services()
    hub = services.add("hub", [script("prep-hub"), "serve"], hub_env, root / "hub.log")
    edges = []
    for name, extra in EDGES:
        argv = [script("prep-edge"), "serve", "--data-dir", str(root / name)]
        env = {**base, **EDGE_SYNC, **extra}
        edges.append(Edge(name, root / name, services.add(name, argv, env, root / f"{name}.log")))
    db = HubDb(make_url(e2e_database).set(drivername="postgresql").render_as_string(False))
    try:
        _set_up(services, hub, edges)
        yield Fleet(hub, edges, db, services)
    finally:
        services.kill_all()
        db.close()
        (root / "timeline.txt").write_text(f"{services.timeline}\n")


def _set_up(services: Services, hub: Service, edges: list[Edge]) -> None:
    """Hub migrated, admin made and serving; each edge initialised, enrolled, served, set up.

    Independent commands run side by side: each one spends a second or two importing.
    """

    def edge_cli(edge: Edge, *args: str, stdin: str | None = None) -> Command:
        argv = [script("prep-edge"), *args, "--data-dir", str(edge.data_dir)]
        return services.command(argv, edge.service.env, stdin)

    def hub_cli(*args: str, stdin: str | None = None) -> Command:
        return services.command([script("prep-hub"), *args], hub.env, stdin)

    place = ["--jurisdiction", JURISDICTION, "--timezone", TIMEZONE]
    add_host = ["user", "add", "--role", "host", "--username", HOST, "--password-stdin"]
    inits = [edge_cli(edge, "init", "--site-name", edge.site_name, *place) for edge in edges]
    hub_cli("migrate").wait()
    hub.launch()
    for edge, init in zip(edges, inits, strict=True):
        edge.node_id = _field(init.wait(), "node id")
    services.timeline.note("hub migrated, edges initialised")
    waits = [
        hub_cli("admin", "create", "--email", ADMIN_EMAIL, "--password-stdin", stdin=PASSWORD),
        hub_cli("publish-refdb", str(edges[0].data_dir / "refdb" / "current.sqlite")),
        *(edge_cli(edge, *add_host, stdin=PASSWORD) for edge in edges),
    ]
    tokens = [hub_cli("enroll-token", "--site-name", edge.site_name, *place) for edge in edges]
    hub.wait_ready()
    waits += [
        edge_cli(edge, "enroll", "--hub", hub.url, "--token", token.wait().strip())
        for edge, token in zip(edges, tokens, strict=True)
    ]
    for command in waits:
        command.wait()
    services.timeline.note("admin, bundle, hosts made; edges enrolled")
    for edge in edges:
        edge.service.launch()
    for edge in edges:
        edge.service.wait_ready()
        _set_up_site(edge)
    services.timeline.note("sites set up through the edge APIs")


def _field(output: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", output, re.MULTILINE)
    assert found, f"no {name!r} in:\n{output}"
    return found.group(1)


def _set_up_site(edge: Edge) -> None:
    """Sign in as the host; a compliant site, a few stations and a renter through the API."""
    login = edge.service.http.post(
        "/api/v1/auth/login", json={"username": HOST, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    edge.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    site = edge.call("PATCH", "/api/v1/site", json={**COMPLIANT_SITE, "address": "1 Test St"})
    assert site.status_code == 200, site.text
    for number in range(1, STATIONS + 1):
        resource = edge.call(
            "POST",
            "/api/v1/resources",
            json={"name": f"Station {number}", "kind": "station", "hourly_rate_cents": 3000},
        )
        assert resource.status_code == 201, resource.text
        edge.resource_ids.append(resource.json()["id"])
    renter = edge.call(
        "POST",
        "/api/v1/renters",
        json={
            **COMPLIANT_RENTER,
            "name": f"Bakery of {edge.name}",
            "email": f"bakery@{edge.name}.example.com",
            "phone": "+14155550101",
        },
    )
    assert renter.status_code == 201, renter.text
    edge.renter_id = renter.json()["id"]
