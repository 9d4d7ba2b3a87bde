"""A deterministic simulation of one hub and a few edges syncing through a faulty network.

Real code end to end, in one event loop: the hub app on PostgreSQL, each edge app on its own
SQLite, each edge's ``HubLink`` going over ``FaultyNetwork`` (an ``httpx.ASGITransport`` into the
hub that can lose a request, lose the answer, deliver a request twice or be cut off). A scenario
is a list of steps (the dataclasses below); ``World.play`` restores the synced start, runs the
steps and settles (clocks corrected, clean rounds until nothing moves); its ``Ledger`` keeps
every write the APIs acknowledged and a log line per step, which the property tests hold the
replicas to (``test_sync_simulation.py``).

Setup is paid once per world (``SimulationHost``): the edges are initialised, enrolled and set
up through their APIs, then the hub's tables and each edge's database are snapshotted; every
scenario starts by restoring them (one DELETE and INSERT round trip on the hub, SQLite's backup
API for the edges the previous scenario touched).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import unittest.mock
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from litestar import Litestar
from sqlalchemy.engine import make_url

import edge.sync_pull
from edge.app import create_app as create_edge
from edge.clock import FixedClock, epoch_ms
from edge.enrollment import enroll
from edge.settings import EdgeSettings
from edge.setup import initialise
from edge.sync_runner import RoundReport, SyncRunner
from edge.tokens import issue_access_token as issue_edge_token
from hub.api.bookings import HUB_CLOCK
from hub.app import create_app as create_hub
from hub.bundles import publish_bundle
from hub.enrollment import issue_token
from hub.settings import HubSettings
from hub.tables import HubModel
from hub.tokens import issue_access_token as issue_hub_token
from hub.users import create_user as create_hub_user
from reference_db.builder import DEFAULT_SOURCES, build_bundle
from reference_db.signing import load_private_key
from sync.hlc import Stamp
from sync.ids import uuid7
from sync.signing import sign_request
from sync.vocabulary import Role
from tests.contract.helpers import set_up_edge
from tests.edge.conftest import PASSWORD

T = TypeVar("T")

START = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)  # Wednesday 08:00 in San Francisco
DAYS = ("2025-11-06", "2025-11-07")
SLOTS = (9, 10, 11)  # local start hours; every booking lasts two hours, so neighbours overlap
ACTIONS = {  # action -> its path under /bookings/{id}/
    "confirm": "confirm",
    "cancel": "cancel",
    "check_in": "check-in",
    "check_out": "check-out",
}
TARGET = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "check_in": "checked_in",
    "check_out": "checked_out",
}
FAULTS = ("ok", "drop_request", "drop_response", "duplicate")
CRASH_POINTS = ("_apply_bookings", "_apply")  # what edge.sync_pull.apply_page calls per page
SETTLE_ROUNDS = 6
HUB_URL = "http://hub.test"


# --- steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """Staff at ``edge`` book a station (``resource``) for a day and slot of the grid."""

    edge: int
    resource: int
    day: int
    slot: int
    hold: bool = False


@dataclass(frozen=True)
class Move:
    """Staff at ``edge`` confirm, cancel, check in or check out a booking of the site, the
    ``pick``-th latest the simulation knows of."""

    edge: int
    pick: int
    action: str


@dataclass(frozen=True)
class Rebook:
    """Staff at ``edge`` move a booking (the ``pick``-th latest) to ``slot`` of its day and
    station: cancel it, then book the new slot, which the old one may overlap."""

    edge: int
    pick: int
    slot: int


@dataclass(frozen=True)
class Resolve:
    """A host at ``edge`` resolves an open conflict (the ``pick``-th listed) by cancelling the
    booking that was set aside."""

    edge: int
    pick: int


@dataclass(frozen=True)
class HubBook:
    """Someone books online on the hub, at ``edge``'s site."""

    edge: int
    resource: int
    day: int
    slot: int
    hold: bool = False


@dataclass(frozen=True)
class Advance:
    minutes: int


@dataclass(frozen=True)
class Skew:
    """``edge``'s clock runs ``minutes`` away from the hub's from now on (until settling)."""

    edge: int
    minutes: int


@dataclass(frozen=True)
class Partition:
    """``edge`` cannot reach the hub during the next ``steps`` steps."""

    edge: int
    steps: int


@dataclass(frozen=True)
class Sync:
    """One sync round of ``edge``; its n-th request meets ``faults[n]`` (then none)."""

    edge: int
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrashPull:
    """A sync round of ``edge`` whose process dies applying a pull page, after ``after``
    changes of the page were applied (inside the page's transaction)."""

    edge: int
    after: int


@dataclass(frozen=True)
class Replay:
    """A push ``edge`` sent earlier reaches the hub again, as captured or signed anew."""

    edge: int
    pick: int
    resign: bool


Step = (
    Book
    | Move
    | Rebook
    | Resolve
    | HubBook
    | Advance
    | Skew
    | Partition
    | Sync
    | CrashPull
    | Replay
)


# --- clock and network -------------------------------------------------------------------------


class OffsetClock:
    """An edge's clock: the hub's clock plus this edge's skew."""

    def __init__(self, base: FixedClock) -> None:
        self.base = base
        self.offset = timedelta()

    def now(self) -> datetime:
        return self.base.now() + self.offset


class SimulatedCrash(Exception):
    """The edge process died (raised inside its code by the simulation)."""


@dataclass
class Sent:
    """A request as it went on the wire, and whether the hub answered it with a 2xx."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    accepted: bool = False


class FaultyNetwork(httpx.AsyncBaseTransport):
    """The network between one edge and the hub, with faults planned request by request."""

    def __init__(self, hub: httpx.AsyncBaseTransport) -> None:
        self.hub = hub
        self.plan: deque[str] = deque()
        self.cut = False
        self.pushes: list[Sent] = []
        self.problems: list[str] = []

    def reset(self) -> None:
        self.plan.clear()
        self.cut = False
        self.pushes.clear()
        self.problems.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("partitioned from the hub", request=request)
        fault = self.plan.popleft() if self.plan else "ok"
        sent = Sent(request.method, str(request.url), dict(request.headers), await request.aread())
        if request.url.path.endswith("/push"):
            self.pushes.append(sent)
        if fault == "drop_request":
            raise httpx.ConnectError("the request was lost", request=request)
        response = await self.deliver(sent)
        if fault == "duplicate":
            again = await self.deliver(sent)
            self.check_replay_refused(sent, response, again)
        if fault == "drop_response":
            raise httpx.ReadError("the answer was lost", request=request)
        return response

    async def deliver(self, sent: Sent) -> httpx.Response:
        """Hand ``sent`` to the hub; the answer is read whole."""
        request = httpx.Request(sent.method, sent.url, headers=sent.headers, content=sent.body)
        answer = await self.hub.handle_async_request(request)
        body = await answer.aread()
        sent.accepted = sent.accepted or answer.is_success
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)

    def check_replay_refused(
        self, sent: Sent, first: httpx.Response, again: httpx.Response
    ) -> None:
        if first.is_success and not (again.status_code == 401 and b"replay" in again.content):
            self.problems.append(
                f"[replay] a second copy of {sent.method} {sent.url} was answered"
                f" {again.status_code} {again.content[:200]!r}, not refused as a replay"
            )
        elif again.status_code >= 500:
            self.problems.append(
                f"[replay] a second copy of {sent.method} {sent.url} failed the hub"
            )


# --- the world -----------------------------------------------------------------------------------


@dataclass
class EdgeNode:
    """One edge app with its network, clock, API client and the ids of its site."""

    index: int
    app: Litestar
    client: httpx.AsyncClient
    network: FaultyNetwork
    clock: OffsetClock
    headers: dict[str, str]
    node_id: str
    site_id: str
    resources: tuple[str, ...]
    renter_id: str
    template: Path
    hlc_last: Stamp | None = None  # the node's clock when snapshotted

    @property
    def services(self) -> Any:
        return self.app.state.services

    @property
    def runner(self) -> SyncRunner:
        runner: SyncRunner = self.app.state.sync_runner
        return runner

    @property
    def db_path(self) -> Path:
        path: Path = self.services.settings.database_path
        return path

    def snapshot(self) -> None:
        copy_database(self.db_path, self.template)
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            (last,) = db.execute("SELECT hlc_last FROM node_state").fetchone()
        self.hlc_last = Stamp.decode(last)

    def restore(self, copy: bool) -> None:
        """The database as snapshotted (if ``copy``), and the clock kept in memory as then."""
        if copy:
            copy_database(self.template, self.db_path)
        self.services.journal.clock.last = self.hlc_last or self.services.journal.clock.last
        self.clock.offset = timedelta()
        self.network.reset()

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        uri = f"{self.db_path.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            return db.execute(sql, params).fetchall()


def copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database onto another (which may be open elsewhere) with the backup API."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@dataclass
class Ledger:
    """What one scenario was told: every acknowledged write, and what happened, step by step."""

    known: dict[int, list[str]] = field(default_factory=dict)  # per edge, in creation order
    site_of: dict[str, int] = field(default_factory=dict)
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)  # booking -> resource, day
    acked: dict[str, str] = field(default_factory=dict)  # booking -> furthest acked status
    cancelled: set[str] = field(default_factory=set)  # bookings someone cancelled
    online: set[str] = field(default_factory=set)  # bookings made on the hub
    created: dict[str, int] = field(default_factory=dict)  # booking -> step that created it
    freed: dict[str, int] = field(default_factory=dict)  # booking -> step that cancelled or
    # checked it out (its slot was free from then on)
    cut: dict[int, int] = field(default_factory=dict)  # edge -> steps left without the hub
    touched: list[int] = field(default_factory=list)  # edges that moved: settled and checked
    log: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ids: int = 0

    def booked(self, edge: int, booking_id: str, status: str, cell: tuple[int, int]) -> None:
        self.cells[booking_id] = cell
        self.known.setdefault(edge, []).append(booking_id)
        self.site_of[booking_id] = edge
        self.acked[booking_id] = status
        self.created[booking_id] = len(self.log)

    def moved(self, booking_id: str, action: str) -> None:
        self.acked[booking_id] = TARGET[action]
        if action == "cancel":
            self.cancelled.add(booking_id)
        if action in ("cancel", "check_out"):
            self.freed.setdefault(booking_id, len(self.log))


@dataclass
class World:
    """The hub and its edges, running; ``play`` runs one scenario from the synced start."""

    hub: Litestar
    hub_clock: FixedClock
    hub_headers: dict[str, str]
    admin: asyncpg.Connection
    edges: list[EdgeNode]
    tables: list[str]
    restore_sql: str = ""  # one round trip: wipe every table, refill it from the snapshot
    dirty: set[int] = field(default_factory=set)  # edges whose database moved since the snapshot

    async def take_snapshot(self) -> None:
        """Copy every hub table into the schema ``sim_snapshot``, and every edge database."""
        statements = ["DROP SCHEMA IF EXISTS sim_snapshot CASCADE; CREATE SCHEMA sim_snapshot;"]
        statements += [f'CREATE TABLE sim_snapshot."{t}" AS TABLE "{t}";' for t in self.tables]
        await self.admin.execute("".join(statements))
        filled = [t for t in self.tables if await self.admin.fetchval(f'TABLE "{t}" LIMIT 1')]
        self.restore_sql = restore_statements(self.tables, filled)
        for node in self.edges:
            node.snapshot()

    async def restore(self) -> None:
        """Hub and edges as snapshotted; only the edges the last scenario touched are copied."""
        await self.admin.execute(self.restore_sql)
        self.hub_clock.at = START
        self.hub.state.pop(HUB_CLOCK, None)  # the hub's HLC: stamps as on a fresh start
        for node in self.edges:
            node.restore(copy=node.index in self.dirty)
        self.dirty.clear()

    async def play(self, steps: Sequence[Step]) -> Ledger:
        """Run ``steps`` from the synced start, then settle; the ledger says what happened.

        Edges no step wrote to (or synced) are left alone: they are still as snapshotted.
        """
        await self.restore()
        ledger = Ledger()
        for step in steps:
            for index, left in list(ledger.cut.items()):
                self.edges[index].network.cut = left > 0
                ledger.cut[index] = left - 1
            if not isinstance(step, Advance | Skew | Partition):
                self.dirty.add(step.edge)
            ledger.log.append(f"{step!r} -> {await self.step(step, ledger)}")
        ledger.touched = sorted(self.dirty)
        await self.settle(ledger)
        for node in self.edges:
            ledger.problems += node.network.problems
        return ledger

    async def step(self, step: Step, ledger: Ledger) -> str:
        if isinstance(step, Advance):
            self.hub_clock.advance(minutes=step.minutes)
            return "ok"
        node = self.edges[step.edge]
        if isinstance(step, Book):
            return await self.book_at_edge(node, step, ledger)
        if isinstance(step, Move | Rebook):
            return await self.move(node, step, ledger)
        if isinstance(step, HubBook):
            return await self.book_online(node, step, ledger)
        if isinstance(step, Resolve):
            return await self.resolve(node, step, ledger)
        if isinstance(step, Skew):
            node.clock.offset = timedelta(minutes=step.minutes)
            return "ok"
        if isinstance(step, Partition):
            ledger.cut[step.edge] = step.steps
            node.network.cut = True
            return "ok"
        if isinstance(step, Sync):
            node.network.plan.extend(step.faults)
            return summary(await node.runner.run_once())
        if isinstance(step, CrashPull):
            return await self.crash_pull(node, step.after)
        return await self.replay(node, step)

    def new_id(self, node: EdgeNode, ledger: Ledger) -> str:
        ledger.ids += 1
        serial = ledger.ids
        return str(uuid7(epoch_ms(node.clock.now()), lambda n: serial.to_bytes(n, "big")))

    def booking_body(self, node: EdgeNode, step: Book | HubBook, ledger: Ledger) -> dict[str, Any]:
        day, hour = DAYS[step.day], SLOTS[step.slot]
        return {
            "id": self.new_id(node, ledger),
            "resource_id": node.resources[step.resource],
            "renter_id": node.renter_id,
            "start": f"{day}T{hour:02d}:00:00",
            "end": f"{day}T{hour + 2:02d}:00:00",
            "status": "hold" if step.hold else "confirmed",
        }

    async def book_at_edge(self, node: EdgeNode, step: Book, ledger: Ledger) -> str:
        body = self.booking_body(node, step, ledger)
        answer = await node.client.post("/api/v1/bookings", json=body, headers=node.headers)
        if answer.status_code == 201:
            ledger.booked(node.index, body["id"], body["status"], (step.resource, step.day))
        return refused_unless(answer, 201, (409, 422), body["id"])

    async def book_online(self, node: EdgeNode, step: HubBook, ledger: Ledger) -> str:
        body = self.booking_body(node, step, ledger)
        transport = httpx.ASGITransport(app=self.hub)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as hub:
            answer = await hub.post("/api/v1/bookings", json=body, headers=self.hub_headers)
        if answer.status_code == 201:
            ledger.booked(node.index, body["id"], body["status"], (step.resource, step.day))
            ledger.online.add(body["id"])
        return refused_unless(answer, 201, (409, 422), body["id"])

    async def move(self, node: EdgeNode, step: Move | Rebook, ledger: Ledger) -> str:
        known = ledger.known.get(node.index, [])
        if not known:
            return "nothing to move"
        booking_id = known[-1 - step.pick % len(known)]
        action = step.action if isinstance(step, Move) else "cancel"
        path = f"/api/v1/bookings/{booking_id}/{ACTIONS[action]}"
        body = {"override_reason": "simulated host override"} if action == "check_in" else None
        answer = await node.client.post(path, json=body, headers=node.headers)
        if answer.status_code == 200:
            ledger.moved(booking_id, action)
        outcome = refused_unless(answer, 200, (404, 409, 422), booking_id)
        if isinstance(step, Rebook) and answer.status_code == 200:
            resource, day = ledger.cells[booking_id]
            again = Book(node.index, resource, day, step.slot)
            outcome += ", then " + await self.book_at_edge(node, again, ledger)
        return outcome

    async def resolve(self, node: EdgeNode, step: Resolve, ledger: Ledger) -> str:
        listed = await node.client.get(
            "/api/v1/conflicts", params={"status": "open"}, headers=node.headers
        )
        assert listed.status_code == 200, listed.text
        open_ones = sorted(c["id"] for c in listed.json())
        if not open_ones:
            return "nothing to resolve"
        ident = open_ones[step.pick % len(open_ones)]
        answer = await node.client.post(
            f"/api/v1/conflicts/{ident}/resolve", json={"action": "cancel"}, headers=node.headers
        )
        if answer.status_code == 200:
            loser = (answer.json().get("loser") or {}).get("id", "")
            ledger.cancelled.add(loser)
            if loser in ledger.site_of:
                ledger.moved(loser, "cancel")
        return refused_unless(answer, 200, (404, 409), ident)

    async def crash_pull(self, node: EdgeNode, after: int) -> str:
        """A round whose pull dies inside a page's transaction, after ``after`` of the page's
        appliers ran (the bookings of a page are applied in one go, then each other change)."""
        calls = 0

        def dying(real: Callable[..., Any]) -> Callable[..., Any]:
            def applier(*args: Any) -> Any:
                nonlocal calls
                calls += 1
                if calls > after:
                    raise SimulatedCrash("power cut while applying a pull page")
                return real(*args)

            return applier

        with contextlib.ExitStack() as patches:
            for name in CRASH_POINTS:
                patches.enter_context(
                    unittest.mock.patch.object(
                        edge.sync_pull, name, dying(getattr(edge.sync_pull, name))
                    )
                )
            try:
                return summary(await node.runner.run_once())
            except SimulatedCrash:
                return f"crashed after {after} appliers of a pull page"

    async def replay(self, node: EdgeNode, step: Replay) -> str:
        if not node.network.pushes:
            return "nothing to replay"
        old = node.network.pushes[step.pick % len(node.network.pushes)]
        again = Sent(old.method, old.url, dict(old.headers), old.body)
        if step.resign:
            key = load_private_key(node.services.settings.key_dir / "node.key")
            target = httpx.URL(old.url).raw_path.decode()
            now = epoch_ms(node.clock.now())
            again.headers.update(sign_request(key, node.node_id, "POST", target, old.body, now))
        answer = await node.network.deliver(again)
        if old.accepted and not step.resign and answer.status_code != 401:
            node.network.problems.append(
                f"[replay] a replayed push was answered {answer.status_code}"
            )
        if answer.status_code >= 500:
            node.network.problems.append(
                f"[replay] a replayed push failed the hub: {answer.text[:200]}"
            )
        return f"hub answered {answer.status_code}"

    async def settle(self, ledger: Ledger) -> None:
        """Correct the clocks, move the hub an hour on (no stamp is ahead of it then), and sync
        each touched edge, unfaulted, until a round moves nothing."""
        self.hub_clock.advance(hours=1)
        for node in (self.edges[index] for index in ledger.touched):
            node.clock.offset = timedelta()
            node.network.cut = False
            node.network.plan.clear()
            for _ in range(SETTLE_ROUNDS):
                report = await node.runner.run_once()
                ledger.log.append(f"settle edge {node.index} -> {summary(report)}")
                if report.outcome != "ok":
                    ledger.problems.append(f"[settle] edge {node.index}: {report.error}")
                    break
                if not (moved(report) or report.bootstrap):  # a bootstrap writes its audit
                    break
            else:
                ledger.problems.append(f"[settle] edge {node.index} still moves after settling")


def restore_statements(tables: Sequence[str], filled: Sequence[str]) -> str:
    """One round trip that empties ``tables`` and refills ``filled`` from ``sim_snapshot``."""
    return "".join(
        [
            "BEGIN; SET LOCAL session_replication_role = replica;",  # audit rows refuse DELETE
            *(f'DELETE FROM "{t}";' for t in tables),  # noqa: S608 - the hub's table names
            *(f'INSERT INTO "{t}" SELECT * FROM sim_snapshot."{t}";' for t in filled),  # noqa: S608
            "SELECT setval(pg_get_serial_sequence('feed', 'hub_seq'),"
            " COALESCE((SELECT max(hub_seq) FROM feed), 0) + 1, false); COMMIT;",
        ]
    )


def moved(report: RoundReport) -> bool:
    return bool(report.push.sent or report.pull.applied or report.pull.skipped)


def summary(report: RoundReport) -> str:
    if report.outcome != "ok":
        return f"{report.outcome}: {report.error}"
    push, pull, boot = report.push, report.pull, report.bootstrap
    snapshot = f", bootstrapped {boot.received} rows" if boot else ""
    return f"ok: pushed {push.sent} ({push.duplicates} dup), pulled {pull.applied}{snapshot}"


def refused_unless(
    answer: httpx.Response, success: int, refusals: tuple[int, ...], ident: str
) -> str:
    """The outcome of an API call; anything but success or an expected refusal is a failure."""
    if answer.status_code == success:
        return f"{success} {ident[-4:]}"
    if answer.status_code in refusals:
        return f"{answer.status_code} {answer.json().get('error', {}).get('code')}"
    raise AssertionError(f"unexpected answer {answer.status_code}: {answer.text[:500]}")


# --- building the world once ---------------------------------------------------------------------


class SimulationHost:
    """Builds the world once and runs scenarios in it from synchronous test code.

    The apps' lifespans are entered and left in one task of the host's own event loop (they
    must stay in one task); scenarios run as further tasks of that loop, one at a time.
    """

    def __init__(self, root: Path, hub_settings: HubSettings, refdb_key: Path, edges: int) -> None:
        self.root = root
        self.hub_settings = hub_settings
        self.refdb_key = refdb_key
        self.edges = edges
        self.runner = asyncio.Runner()
        self.world: World | None = None
        self._stopping: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> SimulationHost:
        for index in range(self.edges):
            initialise(
                self.root / f"edge{index}",
                f"Kitchen {index}",
                "san_francisco",
                "America/Los_Angeles",
                START,
                dict(os.environ),
            )
        self.world = self.runner.run(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.runner.run(self._stop())
        finally:
            self.runner.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    async def _start(self) -> World:
        ready: asyncio.Future[World] = asyncio.get_running_loop().create_future()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._host(ready, self._stopping))
        return await ready

    async def _stop(self) -> None:
        if self._stopping is not None and self._task is not None:
            self._stopping.set()
            await self._task

    async def _host(self, ready: asyncio.Future[World], stopping: asyncio.Event) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                world = await build_world(
                    stack, self.root, self.hub_settings, self.refdb_key, self.edges
                )
                ready.set_result(world)
                await stopping.wait()
        except BaseException as exc:
            if ready.done():
                raise
            ready.set_exception(exc)


async def build_world(
    stack: contextlib.AsyncExitStack,
    root: Path,
    hub_settings: HubSettings,
    refdb_key: Path,
    edges: int,
) -> World:
    """The hub with a published reference bundle and an admin, and ``edges`` enrolled edges."""
    url = make_url(hub_settings.database_url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    stack.push_async_callback(admin.close)
    hub_clock = FixedClock(START)
    hub = create_hub(hub_settings, clock=hub_clock)  # type: ignore[arg-type]
    tables = [t.name for t in HubModel.metadata.sorted_tables]
    world = World(hub, hub_clock, {}, admin, [], tables, restore_statements(tables, []))
    await world.restore()  # every table empty
    await stack.enter_async_context(hub.lifespan())
    world.hub_headers = await hub_admin(hub, hub_settings, refdb_key, root)
    for index in range(edges):
        world.edges.append(await start_edge(stack, world, root / f"edge{index}", index))
    for node in world.edges:
        for _ in range(SETTLE_ROUNDS):
            report = await node.runner.run_once()
            assert report.outcome == "ok", report.error
            if not moved(report):
                break
    await world.take_snapshot()
    return world


async def hub_admin(
    hub: Litestar, settings: HubSettings, refdb_key: Path, root: Path
) -> dict[str, str]:
    """Publish the packaged reference bundle (the hub prices online bookings with it) and
    return the headers of an admin who books online."""
    services = hub.state.services
    bundle = root / "bundle" / "prep-reference.sqlite"
    await asyncio.to_thread(build_bundle, DEFAULT_SOURCES, bundle, refdb_key, {})
    async with services.db.write() as session:
        await publish_bundle(session, bundle, settings.refdb_key(), settings.bundle_dir, START)
        user = await create_hub_user(session, "sim-admin@prep.test", Role.ADMIN, PASSWORD, START)
    secret = settings.jwt_secret.get_secret_value()
    token = issue_hub_token(secret, user.id, START, timedelta(days=3650))
    return {"Authorization": f"Bearer {token}"}


async def start_edge(
    stack: contextlib.AsyncExitStack, world: World, data_dir: Path, index: int
) -> EdgeNode:
    """Run an edge on its own clock and network, enrol it and set its site up via its API."""
    clock = OffsetClock(world.hub_clock)
    network = FaultyNetwork(httpx.ASGITransport(app=world.hub))  # type: ignore[arg-type]
    settings = EdgeSettings.load(
        data_dir, jobs={"enabled": False}, sync={"batch_changes": 6, "page_limit": 4}
    )
    app = create_edge(settings, clock=clock, hub_transport=network)
    await stack.enter_async_context(app.lifespan())
    client = await stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://edge.test",
        )
    )
    services = app.state.services
    async with world.hub.state.services.db.write() as session:
        issued = await issue_token(session, f"Kitchen {index}", START, timedelta(hours=1))
    await enroll(services, HUB_URL, issued.token, network)
    site = await set_up_edge(app, client)
    second = await client.post(
        "/api/v1/resources",
        json={"name": "Station 2", "kind": "station", "hourly_rate_cents": 3500},
        headers=site.headers,
    )
    assert second.status_code == 201, second.text
    (user_id,) = services.db.lookup(
        "SELECT id FROM user_account WHERE username = ?", ("sync-host",)
    )
    secret = settings.jwt_secret.get_secret_value()
    token = issue_edge_token(secret, user_id, START, timedelta(days=3650))
    return EdgeNode(
        index=index,
        app=app,
        client=client,
        network=network,
        clock=clock,
        headers={"Authorization": f"Bearer {token}"},
        node_id=services.journal.clock.node_id,
        site_id=services.site.id,
        resources=(site.resource_id, second.json()["id"]),
        renter_id=site.renter_id,
        template=data_dir.parent / f"template{index}.sqlite",
    )
