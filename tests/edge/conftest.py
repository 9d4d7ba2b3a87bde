"""Fixtures for edge tests: a fresh initialised node per test, its app on a fixed clock, a client.

``client`` is a ``litestar.testing.AsyncTestClient`` (it runs the app's lifespan); ``login``
returns auth headers for a user created with the given role.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.clock import FixedClock
from edge.settings import EdgeSettings
from edge.setup import InitResult, initialise
from edge.users import create_user
from sync.vocabulary import Role

# A Wednesday morning in San Francisco (16:00 UTC = 08:00 PST).
START = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"

Headers = dict[str, str]
Login = Callable[..., Awaitable[Headers]]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def template_node(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InitResult]:
    """One initialised node per test session; each test works on a copy of it."""
    data_dir = tmp_path_factory.mktemp("template") / "node"
    result = initialise(
        data_dir, "Mission Kitchen", "san_francisco", "America/Los_Angeles", START, dict(os.environ)
    )
    return data_dir, result


@pytest.fixture
def node(tmp_path: Path, template_node: tuple[Path, InitResult]) -> tuple[Path, InitResult]:
    data_dir = tmp_path / "node"
    shutil.copytree(template_node[0], data_dir)
    return data_dir, template_node[1]


@pytest.fixture
def settings(node: tuple[Path, InitResult]) -> EdgeSettings:
    return EdgeSettings.load(node[0], jobs={"enabled": False})


@pytest.fixture
def app(settings: EdgeSettings, clock: FixedClock) -> Litestar:
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
def login(client: AsyncTestClient[Litestar], app: Litestar) -> Login:
    """Create a user with ``role`` (once per username) and sign in; returns auth headers."""

    async def sign_in(
        role: Role | str = Role.HOST, username: str | None = None, renter_id: str | None = None
    ) -> Headers:
        name = username or f"{Role(role).value}-user"
        services = app.state.services
        await create_user(services, name, Role(role), PASSWORD, renter_id=renter_id, exist_ok=True)
        response = await client.post(
            "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return sign_in
