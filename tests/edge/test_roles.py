"""Every endpoint x every role, from one table: who may call what.

The table lists each API route with the roles allowed; a test checks the table covers every
route the app serves, so a new endpoint cannot slip in without a decision. Allowed callers get
anything but 401/403 (the call may still be refused for its content); others get 403; a
request without a token gets 401.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from edge.users import create_user
from sync.vocabulary import Role
from tests.edge.conftest import PASSWORD, Login
from tests.edge.seed import Seeded, seed

Client = AsyncTestClient[Litestar]
A, H, S, R = Role.ADMIN, Role.HOST, Role.STAFF, Role.RENTER
EVERYONE = (A, H, S, R)
SITE = (A, H, S)
MANAGERS = (A, H)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh")}


@dataclass(frozen=True)
class Call:
    method: str
    route: str  # as the app declares it
    allowed: tuple[Role, ...]
    path: str = ""  # with ids filled in; defaults to ``route``
    body: dict[str, Any] | None = None
    files: dict[str, Any] | None = field(default=None)


def table(ids: dict[str, str]) -> list[Call]:
    b, r, d = ids["booking"], ids["renter"], ids["document"]
    booking = {
        "resource_id": ids["resource"],
        "renter_id": r,
        "start": "2025-11-06T10:00:00",
        "end": "2025-11-06T12:00:00",
    }
    return [
        Call("GET", "/api/v1/site", SITE),
        Call("PATCH", "/api/v1/site", MANAGERS, body={"ada_accessible": True}),
        Call("GET", "/api/v1/resources", SITE),
        Call(
            "POST",
            "/api/v1/resources",
            MANAGERS,
            body={"name": "Oven", "kind": "station", "hourly_rate_cents": 1000},
        ),
        Call("GET", "/api/v1/renters", SITE),
        Call("POST", "/api/v1/renters", SITE, body={"name": "Walk-in Tacos"}),
        Call("GET", "/api/v1/renters/{renter_id:str}", EVERYONE, f"/api/v1/renters/{r}"),
        Call("GET", "/api/v1/bookings", EVERYONE),
        Call("POST", "/api/v1/bookings", EVERYONE, body=booking),
        Call("GET", "/api/v1/bookings/{booking_id:str}", EVERYONE, f"/api/v1/bookings/{b}"),
        Call(
            "GET",
            "/api/v1/bookings/{booking_id:str}/compliance",
            EVERYONE,
            f"/api/v1/bookings/{b}/compliance",
        ),
        Call(
            "POST",
            "/api/v1/bookings/{booking_id:str}/check-in",
            SITE,
            f"/api/v1/bookings/{b}/check-in",
        ),
        Call(
            "POST",
            "/api/v1/bookings/{booking_id:str}/check-out",
            SITE,
            f"/api/v1/bookings/{b}/check-out",
        ),
        Call(
            "POST",
            "/api/v1/bookings/{booking_id:str}/confirm",
            EVERYONE,
            f"/api/v1/bookings/{b}/confirm",
        ),
        Call(
            "POST",
            "/api/v1/bookings/{booking_id:str}/cancel",
            EVERYONE,
            f"/api/v1/bookings/{b}/cancel",
        ),
        Call(
            "POST",
            "/api/v1/compliance/evaluate",
            SITE,
            body={
                "jurisdiction": "sf",
                "booking": {"start": "2025-11-06T10:00:00", "end": "2025-11-06T12:00:00"},
            },
        ),
        Call(
            "POST",
            "/api/v1/documents",
            EVERYONE,
            body={"owner_kind": "renter", "owner_id": r, "kind": "food_handler_card"},
            files={"file": ("card.png", PNG, "image/png")},
        ),
        Call(
            "GET",
            "/api/v1/documents",
            EVERYONE,
            f"/api/v1/documents?owner_kind=renter&owner_id={r}",
        ),
        Call("GET", "/api/v1/documents/{document_id:str}", EVERYONE, f"/api/v1/documents/{d}"),
        Call(
            "GET",
            "/api/v1/documents/{document_id:str}/content",
            EVERYONE,
            f"/api/v1/documents/{d}/content",
        ),
        Call("GET", "/api/v1/audit", SITE),
        Call("GET", "/api/v1/audit/verify", SITE),
        Call("GET", "/api/v1/sync/status", SITE),
        Call("POST", "/api/v1/sync/run", MANAGERS),
        Call("GET", "/api/v1/conflicts", SITE),
        Call(
            "POST",
            "/api/v1/conflicts/{conflict_id:str}/resolve",
            MANAGERS,
            "/api/v1/conflicts/no-such-conflict/resolve",
            body={"action": "cancel"},
        ),
        Call(
            "POST",
            "/api/v1/auth/password",
            EVERYONE,
            body={"current_password": PASSWORD, "new_password": "another fine secret"},
        ),
        Call("POST", "/api/v1/auth/logout", EVERYONE, body={"refresh_token": ids["refresh"]}),
    ]


@pytest.fixture
async def ids(client: Client, app: Litestar, login: Login) -> dict[str, str]:
    seeded: Seeded = await seed(app.state.services)
    host = await login(H)
    booking = await client.post(
        "/api/v1/bookings",
        headers=host,
        json={
            "resource_id": seeded.resource_id,
            "renter_id": seeded.renter_id,
            "start": "2025-11-05T10:00:00",
            "end": "2025-11-05T14:00:00",
        },
    )
    document = await client.post(
        "/api/v1/documents",
        headers=host,
        files={"file": ("card.png", PNG, "image/png")},
        data={"owner_kind": "renter", "owner_id": seeded.renter_id, "kind": "food_handler_card"},
    )
    assert booking.status_code == 201 and document.status_code == 201, (booking.text, document.text)
    return {
        "booking": booking.json()["id"],
        "renter": seeded.renter_id,
        "resource": seeded.resource_id,
        "document": document.json()["id"],
    }


def test_the_table_covers_every_api_route(app: Litestar) -> None:
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/")
        for method in route.methods - {"HEAD", "OPTIONS"}
    }
    names = ("booking", "renter", "document", "resource", "refresh")
    listed = {(c.method, c.route) for c in table(dict.fromkeys(names, "x"))}
    assert served - PUBLIC == listed


async def _call(client: Client, call: Call, headers: dict[str, str]) -> int:
    path = call.path or call.route
    if call.files is not None:
        response = await client.post(path, headers=headers, files=call.files, data=call.body)
    else:
        response = await client.request(call.method, path, headers=headers, json=call.body)
    assert response.status_code != 500, f"{call.method} {path}: {response.text}"
    return response.status_code


@pytest.mark.parametrize("role", [A, H, S, R])
async def test_each_role_gets_exactly_what_the_table_allows(
    client: Client, app: Litestar, ids: dict[str, str], role: Role
) -> None:
    renter_id = ids["renter"] if role is R else None
    await create_user(app.state.services, "caller", role, PASSWORD, renter_id=renter_id)
    tokens = (
        await client.post("/api/v1/auth/login", json={"username": "caller", "password": PASSWORD})
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = []
    for call in table({**ids, "refresh": tokens["refresh_token"]}):
        status = await _call(client, call, headers)
        allowed = role in call.allowed
        if (allowed and status in (401, 403)) or (not allowed and status != 403):
            wrong.append(f"{call.method} {call.route} as {role}: {status}")
    assert wrong == []


async def test_no_token_gets_401_everywhere(client: Client, ids: dict[str, str]) -> None:
    calls = table({**ids, "refresh": "not-a-token"})
    statuses = {f"{c.method} {c.route}": await _call(client, c, {}) for c in calls}
    assert {k: v for k, v in statuses.items() if v != 401} == {}
