"""Every central API route x every role, from one table: who may call what.

The table lists each ``/api/v1`` route with the roles allowed; a test checks it covers every such
route the app serves, so a new endpoint cannot slip in without a decision. Allowed callers get
anything but 401/403 (the call may still be refused for its content); others get 403; a request
without a token gets 401 except on the public routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from hub.db import Database
from hub.tables import Node
from sync.vocabulary import Role
from tests.hub.conftest import PASSWORD, START, Login, add_site

Client = AsyncTestClient[Litestar]
ALL_ROLES = tuple(Role)
SIGNED_IN = ALL_ROLES
PUBLIC = None  # no token needed
NODE = "node-a"
NEW_BOOKING = {"resource_id": "no-such-resource", "renter_id": "no-such-renter",
               "start": "2025-11-06T10:00:00", "end": "2025-11-06T14:00:00"}  # fmt: skip


@dataclass(frozen=True)
class Call:
    method: str
    route: str  # as the app declares it
    allowed: tuple[Role, ...] | None  # None: public
    path: str = ""  # with ids filled in; defaults to ``route``
    body: dict[str, Any] | None = None


def table(refresh_token: str = "unknown") -> list[Call]:  # noqa: S107 - not a secret
    return [
        Call("POST", "/api/v1/auth/login", PUBLIC, body={"username": "x@y.z", "password": "p"}),
        Call("POST", "/api/v1/auth/refresh", PUBLIC, body={"refresh_token": "unknown"}),
        Call("POST", "/api/v1/auth/logout", SIGNED_IN, body={"refresh_token": refresh_token}),
        Call("GET", "/api/v1/nodes", (Role.ADMIN, Role.SUPPORT)),
        Call(
            "POST",
            "/api/v1/nodes/{node_id:str}/revoke",
            (Role.ADMIN,),
            f"/api/v1/nodes/{NODE}/revoke",
        ),
        Call(
            "POST",
            "/api/v1/bookings",
            (Role.ADMIN, Role.HOST, Role.RENTER),
            body=NEW_BOOKING,
        ),
        Call("GET", "/api/v1/bookings", SIGNED_IN),
        Call("GET", "/api/v1/bookings/{booking_id:str}", SIGNED_IN, "/api/v1/bookings/unknown"),
        Call("GET", "/api/v1/conflicts", (Role.ADMIN, Role.SUPPORT, Role.HOST)),
        Call(
            "POST",
            "/api/v1/conflicts/{conflict_id:str}/resolve",
            (Role.ADMIN, Role.HOST),
            "/api/v1/conflicts/unknown/resolve",
            body={"action": "cancel"},
        ),
    ]


def api_routes(app: Litestar) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/v1/")
        for method in route.methods
        if method not in {"HEAD", "OPTIONS"}
    }


def test_the_table_covers_every_api_route(hub_app: Litestar) -> None:
    assert {(call.method, call.route) for call in table()} == api_routes(hub_app)


@pytest.fixture
async def node(hub_db: Database) -> str:
    site_id = await add_site(hub_db)
    async with hub_db.write() as session:
        session.add(Node(id=NODE, site_id=site_id, name="door", public_key="k", enrolled_at=START))
    return NODE


async def call(client: Client, c: Call, headers: dict[str, str]) -> int:
    response = await client.request(c.method, c.path or c.route, json=c.body, headers=headers)
    assert (
        set(response.json()["error"]) == {"code", "message", "details"}
        if (response.status_code >= 400)
        else True
    )
    return response.status_code


@pytest.mark.parametrize("role", ALL_ROLES, ids=[r.value for r in ALL_ROLES])
async def test_each_role_reaches_exactly_its_routes(
    hub_client: Client, login: Login, node: str, role: Role
) -> None:
    headers = await login(role)
    pair = await hub_client.post(
        "/api/v1/auth/login", json={"username": f"{role.value}@prep.test", "password": PASSWORD}
    )
    for c in table(refresh_token=pair.json()["refresh_token"]):
        if c.allowed is PUBLIC:
            continue
        status = await call(hub_client, c, headers)
        if role in c.allowed:
            assert status not in (401, 403), (role, c.method, c.route, status)
        else:
            assert status == 403, (role, c.method, c.route, status)


async def test_without_a_token_only_public_routes_answer(hub_client: Client, node: str) -> None:
    for c in table():
        status = await call(hub_client, c, {})
        if c.allowed is PUBLIC:
            assert status not in (403, 500), (c.route, status)
        else:
            assert status == 401, (c.route, status)
