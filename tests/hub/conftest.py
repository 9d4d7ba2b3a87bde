"""Fixtures for hub tests: a real PostgreSQL database, the hub app on a fixed clock, a client.

PostgreSQL, first that works: ``PREP_TEST_DATABASE_URL`` (a ``postgresql+asyncpg://`` URL to a
server where this user may create databases), the server on 127.0.0.1:5432 as ``postgres``, or a
throwaway cluster started from local ``initdb``/``pg_ctl``. Without any, the run stops (exit 3):
hub tests fail, they never skip. One fresh database per session (``prep_hub_test_<pid>``), migrated
once and dropped at the end; every test that asks for ``hub_settings`` (or the app, client or
``hub_db``) starts from empty tables.

How a test reaches things: ``hub_settings`` (HubSettings for the test database and a temporary
data dir, with a pinned reference key), ``hub_db`` (a ``hub.db.Database``: ``async with
hub_db.write() as session``), ``hub_app`` / ``hub_client`` (``AsyncTestClient``, lifespan run),
``login(role)`` (auth headers of a new user with that role) and ``admin_headers``.
"""

from __future__ import annotations

import asyncio
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from hub.app import create_app
from hub.clock import FixedClock
from hub.db import Database
from hub.migrate import upgrade
from hub.settings import HubSettings
from hub.tables import HubModel, Site
from hub.users import create_user
from reference_db.signing import generate_keypair, public_path
from sync.vocabulary import Role

START = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
LOCAL_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
NO_POSTGRES = (
    "hub tests need PostgreSQL: set PREP_TEST_DATABASE_URL=postgresql+asyncpg://USER@HOST/DB, "
    "start a server on 127.0.0.1:5432 (user postgres, trust), or install initdb/pg_ctl"
)

Headers = dict[str, str]
Login = Callable[..., Awaitable[Headers]]
T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion in a thread of its own (never on the tests' event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _answers(url: str) -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
        await conn.close()

    try:
        run_async(probe)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


# --- a throwaway cluster, when no server is reachable ---------------------------------------------


def _pg_binaries() -> Path | None:
    for candidate in [
        shutil.which("pg_ctl"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
    ]:
        if candidate and Path(candidate).with_name("initdb").exists():
            return Path(candidate).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_cluster_owner(argv: list[str]) -> list[str]:
    """initdb refuses root: run as the ``postgres`` system user then."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _start_cluster(bin_dir: Path) -> tuple[str, Callable[[], None]]:
    root = Path(tempfile.mkdtemp(prefix="prep-hub-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_cluster_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=trust", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                           "-l", str(root / "log"), "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip

    def stop() -> None:
        stop_argv = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(_as_cluster_owner(stop_argv), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", stop


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A URL to a PostgreSQL server where the tests may create a database."""
    given = os.environ.get("PREP_TEST_DATABASE_URL")
    if given:
        if not _answers(given):
            pytest.exit(f"PREP_TEST_DATABASE_URL does not answer. {NO_POSTGRES}", returncode=3)
        yield given
        return
    if _answers(LOCAL_SERVER):
        yield LOCAL_SERVER
        return
    bin_dir = _pg_binaries()
    if bin_dir is None:
        pytest.exit(NO_POSTGRES, returncode=3)
    try:
        url, stop = _start_cluster(bin_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.exit(f"could not start a throwaway PostgreSQL ({exc}). {NO_POSTGRES}", returncode=3)
    try:
        deadline = time.monotonic() + 20
        while not _answers(url):
            if time.monotonic() > deadline:
                pytest.exit(f"the throwaway PostgreSQL did not answer. {NO_POSTGRES}", returncode=3)
            time.sleep(0.2)
        yield url
    finally:
        stop()


@pytest.fixture(scope="session")
def hub_database_url(pg_server: str) -> Iterator[str]:
    """A fresh database for this session, migrated to head; dropped at the end."""
    name = f"prep_hub_test_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(pg_server))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    run_async(lambda: admin(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, url).result()
        yield url
    finally:
        run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def clean_database(hub_database_url: str) -> str:
    """The session database with every table emptied (identities restarted)."""
    tables = ", ".join(f'"{table.name}"' for table in HubModel.metadata.sorted_tables)
    conn = await asyncpg.connect(_asyncpg_dsn(hub_database_url))
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return hub_database_url


# --- settings, app, client ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def refdb_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The private key whose public half the test hub pins for reference bundles."""
    key = tmp_path_factory.mktemp("refdb-key") / "refdb.key"
    generate_keypair(key)
    return key


def secret() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def hub_settings(clean_database: str, tmp_path: Path, refdb_key: Path) -> HubSettings:
    return HubSettings(
        database_url=clean_database,
        data_dir=tmp_path / "hub-data",
        jwt_secret=secret(),
        pii_key=secret(),
        blind_index_key=secret(),
        refdb_public_key=str(public_path(refdb_key)),
        db_pool_size=2,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def hub_db(hub_settings: HubSettings) -> AsyncIterator[Database]:
    db = Database(hub_settings.database_url, pool_size=2)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def hub_app(hub_settings: HubSettings, clock: FixedClock) -> Litestar:
    return create_app(hub_settings, clock=clock)


@pytest.fixture
async def hub_client(hub_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(hub_app) as client:
        yield client


async def add_site(db: Database, site_id: str = "site-1", name: str = "Mission Kitchen") -> str:
    async with db.write() as session:
        session.add(Site(id=site_id, name=name, jurisdiction="san_francisco",
                         timezone="America/Los_Angeles", updated_hlc="0"))  # fmt: skip
    return site_id


@pytest.fixture
def login(hub_client: AsyncTestClient[Litestar], hub_db: Database, clock: FixedClock) -> Login:
    """Create a user with ``role`` (host and staff get a site) and sign in; returns headers."""

    async def sign_in(role: Role | str = Role.ADMIN, email: str | None = None) -> Headers:
        role = Role(role)
        address = email or f"{role.value}@prep.test"
        site_id = None
        if role in (Role.HOST, Role.STAFF):
            async with hub_db.read() as session:
                known = await session.get(Site, "site-1")
            site_id = "site-1" if known else await add_site(hub_db)
        async with hub_db.write() as session:
            await create_user(session, address, role, PASSWORD, clock.now(), site_id=site_id)
        response = await hub_client.post(
            "/api/v1/auth/login", json={"username": address, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return sign_in


@pytest.fixture
async def admin_headers(login: Login) -> Headers:
    return await login(Role.ADMIN)
