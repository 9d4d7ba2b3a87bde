"""Sign-in with an email, rotating refresh tokens with reuse detection, sign-out, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlmodel import select

from hub.clock import FixedClock
from hub.db import Database
from hub.tables import HubUser, RefreshToken
from hub.users import create_user
from sync.vocabulary import Role
from tests.hub.conftest import PASSWORD

Client = AsyncTestClient[Litestar]
EMAIL = "ops@prep.test"


@pytest.fixture
async def user(hub_db: Database, clock: FixedClock) -> HubUser:
    async with hub_db.write() as session:
        return await create_user(session, " Ops@Prep.test ", Role.SUPPORT, PASSWORD, clock.now())


async def sign_in(client: Client, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def test_sign_in_with_the_email_as_username_or_email(
    hub_client: Client, user: HubUser
) -> None:
    assert user.email == EMAIL  # stored trimmed and lower-cased
    for body in ({"username": EMAIL}, {"email": "OPS@prep.test"}):
        pair = await sign_in(hub_client, **body, password=PASSWORD)
        assert pair["expires_in"] == 15 * 60 and pair["token_type"] == "bearer"
        assert (await hub_client.get("/api/v1/nodes", headers=bearer(pair))).status_code == 200


async def test_hashes_are_argon2_and_never_the_password(user: HubUser) -> None:
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


@pytest.mark.parametrize("email", [EMAIL, "nobody@prep.test", "not an email", "ops\x00@prep.test"])
async def test_wrong_credentials_get_one_401(hub_client: Client, user: HubUser, email: str) -> None:
    response = await hub_client.post(
        "/api/v1/auth/login", json={"username": email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "wrong email or password",
        "details": {},
    }


@pytest.mark.parametrize(
    "body",
    [
        {"password": PASSWORD},
        {"username": EMAIL, "email": EMAIL, "password": PASSWORD},
        {"username": EMAIL},
        {"username": EMAIL, "password": PASSWORD, "role": "admin"},
        {"username": "x" * 300, "password": PASSWORD},
        ["not", "an", "object"],
    ],
)
async def test_malformed_sign_ins_are_400(hub_client: Client, body: Any) -> None:
    response = await hub_client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


async def test_a_body_that_is_not_json_is_400(hub_client: Client) -> None:
    response = await hub_client.post(
        "/api/v1/auth/login", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def test_refresh_rotates_and_reuse_revokes_the_family(
    hub_client: Client, user: HubUser, hub_db: Database
) -> None:
    first = await sign_in(hub_client, username=EMAIL, password=PASSWORD)
    refreshed = await hub_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]

    reused = await hub_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401 and "already used" in reused.json()["error"]["message"]
    after = await hub_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401 and "revoked" in after.json()["error"]["message"]
    async with hub_db.read() as session:
        rows = (await session.exec(select(RefreshToken))).all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)


async def test_logout_revokes_the_family(hub_client: Client, user: HubUser) -> None:
    pair = await sign_in(hub_client, username=EMAIL, password=PASSWORD)
    body = {"refresh_token": pair["refresh_token"]}
    assert (await hub_client.post("/api/v1/auth/logout", json=body)).status_code == 401
    out = await hub_client.post("/api/v1/auth/logout", json=body, headers=bearer(pair))
    assert out.status_code == 204
    assert (await hub_client.post("/api/v1/auth/refresh", json=body)).status_code == 401


async def test_access_tokens_expire_on_the_hub_clock(
    hub_client: Client, user: HubUser, clock: FixedClock
) -> None:
    pair = await sign_in(hub_client, username=EMAIL, password=PASSWORD)
    clock.advance(minutes=15)
    response = await hub_client.get("/api/v1/nodes", headers=bearer(pair))
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer not-a-jwt", "Basic b3BzOnB3", "Bearer eyJhbGciOiJub25lIn0.e30."]
)
async def test_bad_bearer_tokens_are_401(hub_client: Client, header: str) -> None:
    response = await hub_client.get("/api/v1/nodes", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_a_disabled_account_loses_access_at_once(
    hub_client: Client, user: HubUser, hub_db: Database, clock: FixedClock
) -> None:
    pair = await sign_in(hub_client, username=EMAIL, password=PASSWORD)
    async with hub_db.write() as session:
        row = await session.get(HubUser, user.id)
        assert row is not None
        row.disabled_at = clock.now()
        session.add(row)
    assert (await hub_client.get("/api/v1/nodes", headers=bearer(pair))).status_code == 401
    body = {"refresh_token": pair["refresh_token"]}
    assert (await hub_client.post("/api/v1/auth/refresh", json=body)).status_code == 401
    again = await hub_client.post(
        "/api/v1/auth/login", json={"username": EMAIL, "password": PASSWORD}
    )
    assert again.status_code == 401
