"""Sign-in, token expiry, refresh rotation and reuse, sign-out, password changes, local users."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.clock import FixedClock
from edge.errors import Conflict, InvalidInput, NotFound
from edge.setup import InitResult
from edge.users import create_user
from sync.vocabulary import Role
from tests.edge.conftest import PASSWORD, Login

Client = AsyncTestClient[Litestar]
LOGIN, REFRESH, LOGOUT = "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"


async def sign_in(client: Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(LOGIN, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def rows(app: Litestar, sql: str) -> list[tuple[Any, ...]]:
    path: Path = app.state.services.settings.database_path
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"code", "message", "details"}


async def test_login_answers_a_token_pair_that_opens_the_api(client: Client, login: Login) -> None:
    await login(Role.HOST, "alice")
    pair = await sign_in(client, "Alice ")  # trimmed and lower-cased like the stored name
    assert set(pair) >= {"access_token", "refresh_token", "expires_in", "must_change_password"}
    assert pair["expires_in"] == 15 * 60
    assert pair["must_change_password"] is False
    assert (await client.get("/api/v1/site", headers=bearer(pair))).status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: Client, login: Login
) -> None:
    await login(Role.HOST, "alice")
    answers = [
        await client.post(LOGIN, json={"username": name, "password": "not the password"})
        for name in ("alice", "nobody", "NOT VALID!")
    ]
    for response in answers:
        assert_error(response, 401)
    assert len({r.text for r in answers}) == 1


async def test_login_is_audited_without_secrets(
    client: Client, login: Login, app: Litestar
) -> None:
    await login(Role.HOST, "alice")
    await client.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    await client.post(LOGIN, json={"username": "hunter2-typed-here", "password": "x"})
    logins = rows(app, "SELECT details FROM audit_event WHERE action = 'auth.login'")
    assert len(logins) == 3
    text = " ".join(r[0] for r in logins)
    assert '"outcome":"success"' in text and '"outcome":"failure"' in text
    assert "hunter2-typed-here" not in text  # an unknown name may be a mistyped password
    everything = rows(app, "SELECT details FROM audit_event") + rows(
        app, "SELECT payload FROM outbox"
    )
    assert not any("argon2" in r[0] or PASSWORD in r[0] for r in everything)


async def test_first_host_must_change_its_one_time_password(
    client: Client, node: tuple[Path, InitResult]
) -> None:
    first = node[1]
    pair = await sign_in(client, first.username, first.password)
    assert pair["must_change_password"] is True
    assert_error(await client.get("/api/v1/site", headers=bearer(pair)), 403)
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": first.password, "new_password": "a much better secret"},
        headers=bearer(pair),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["must_change_password"] is False
    assert_error(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), 401)
    assert_error(
        await client.post(LOGIN, json={"username": "host", "password": first.password}), 401
    )
    fresh = await sign_in(client, "host", "a much better secret")
    assert fresh["must_change_password"] is False
    assert (await client.get("/api/v1/site", headers=bearer(fresh))).status_code == 200


async def test_password_change_checks_the_current_one_and_the_new_length(
    client: Client, login: Login
) -> None:
    headers = await login(Role.HOST, "alice")
    url = "/api/v1/auth/password"
    wrong = {"current_password": "wrong password", "new_password": "another long one"}
    assert_error(await client.post(url, json=wrong, headers=headers), 401)
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert_error(await client.post(url, json=short, headers=headers), 422)
    assert_error(await client.post(url, json={"current_password": PASSWORD}, headers=headers), 400)
    assert_error(await client.post(url, json=short), 401)


async def test_access_token_expires_after_its_lifetime(
    client: Client, login: Login, clock: FixedClock
) -> None:
    headers = await login(Role.HOST, "alice")
    clock.advance(minutes=14)
    assert (await client.get("/api/v1/site", headers=headers)).status_code == 200
    clock.advance(minutes=2)
    assert_error(await client.get("/api/v1/site", headers=headers), 401)


async def test_missing_or_forged_tokens_get_401(client: Client) -> None:
    assert_error(await client.get("/api/v1/site"), 401)
    assert_error(await client.get("/api/v1/site", headers={"Authorization": "Bearer abc"}), 401)
    assert_error(await client.get("/api/v1/site", headers={"Authorization": "Basic abc"}), 401)


async def test_refresh_rotates_the_pair(client: Client, login: Login) -> None:
    await login(Role.STAFF, "sam")
    first = await sign_in(client, "sam")
    response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/site", headers=bearer(second))).status_code == 200
    third = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    client: Client, login: Login, app: Litestar
) -> None:
    await login(Role.HOST, "alice")
    first = await sign_in(client, "alice")
    other_session = await sign_in(client, "alice")
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    assert_error(await client.post(REFRESH, json={"refresh_token": first["refresh_token"]}), 401)
    assert_error(await client.post(REFRESH, json={"refresh_token": second["refresh_token"]}), 401)
    assert rows(app, "SELECT count(*) FROM audit_event WHERE action = 'auth.refresh_reuse'") == [
        (1,)
    ]
    again = await client.post(REFRESH, json={"refresh_token": other_session["refresh_token"]})
    assert again.status_code == 200  # another sign-in's family is untouched


async def test_refresh_tokens_expire_with_their_family(
    client: Client, login: Login, clock: FixedClock
) -> None:
    await login(Role.HOST, "alice")
    pair = await sign_in(client, "alice")
    clock.advance(days=6)
    pair = (await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})).json()
    clock.advance(days=1, minutes=1)  # rotation does not extend the family
    assert_error(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), 401)


async def test_logout_revokes_the_family_and_needs_an_access_token(
    client: Client, login: Login
) -> None:
    await login(Role.HOST, "alice")
    await login(Role.STAFF, "sam")
    pair, sams = await sign_in(client, "alice"), await sign_in(client, "sam")
    body = {"refresh_token": pair["refresh_token"]}
    assert_error(await client.post(LOGOUT, json=body), 401)
    foreign = await client.post(LOGOUT, json=body, headers=bearer(sams))
    assert_error(foreign, 401)  # one user cannot sign another out
    assert (await client.post(LOGOUT, json=body, headers=bearer(pair))).status_code == 204
    assert (await client.post(LOGOUT, json=body, headers=bearer(pair))).status_code == 204
    assert_error(await client.post(REFRESH, json=body), 401)


async def test_repeated_failures_slow_sign_in_down(
    client: Client, login: Login, clock: FixedClock
) -> None:
    await login(Role.HOST, "alice")
    bad = {"username": "alice", "password": "wrong password"}
    for _ in range(5):
        assert_error(await client.post(LOGIN, json=bad), 401)
    throttled = await client.post(LOGIN, json=bad)
    assert_error(throttled, 429)
    assert throttled.json()["error"]["details"]["retry_after"] >= 1
    clock.advance(seconds=2)
    assert (await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})).is_success


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (LOGIN, {"username": "alice"}),
        (LOGIN, {"username": 5, "password": "x"}),
        (LOGIN, {"username": "a" * 65, "password": "x"}),
        (LOGIN, {"username": "alice", "password": "x", "role": "admin"}),
        (LOGIN, ["alice"]),
        (REFRESH, {"refresh_token": None}),
        (REFRESH, {"refresh_token": "x" * 513}),
    ],
)
async def test_bad_auth_input_is_400(client: Client, url: str, body: Any) -> None:
    assert_error(await client.post(url, json=body), 400)


async def test_malformed_json_is_400(client: Client) -> None:
    response = await client.post(
        LOGIN, content=b'{"username": "alice",', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


async def test_unknown_refresh_token_is_401(client: Client) -> None:
    assert_error(await client.post(REFRESH, json={"refresh_token": "not-a-token"}), 401)


async def test_create_user_validates_and_refuses_duplicates(app: Litestar, client: Client) -> None:
    services = app.state.services
    user = await create_user(services, "  Dora.K ", Role.HOST, PASSWORD)
    assert user.username == "dora.k"
    assert user.password_hash.startswith("$argon2")
    with pytest.raises(Conflict):
        await create_user(services, "DORA.K", Role.STAFF, PASSWORD)
    same = await create_user(services, "dora.k", Role.STAFF, PASSWORD, exist_ok=True)
    assert same.id == user.id
    for name in ("", "has space", "ünï", "x" * 65):
        with pytest.raises(InvalidInput):
            await create_user(services, name, Role.HOST, PASSWORD)
    with pytest.raises(InvalidInput):
        await create_user(services, "short", Role.HOST, "1234567")
    with pytest.raises(InvalidInput):
        await create_user(services, "pin-host", Role.HOST, "123456")
    assert (await create_user(services, "pin-staff", Role.STAFF, "123456")).role == "staff"
    with pytest.raises(InvalidInput):
        await create_user(services, "pin-short", Role.STAFF, "12345")
    with pytest.raises(NotFound):
        await create_user(services, "ghost", Role.RENTER, PASSWORD, renter_id="no-such-renter")
    with pytest.raises(InvalidInput):
        await create_user(services, "mixed", Role.HOST, PASSWORD, renter_id="r1")


async def test_staff_can_sign_in_with_a_pin(app: Litestar, client: Client) -> None:
    await create_user(app.state.services, "door", Role.STAFF, "482913")
    assert (await sign_in(client, "door", "482913"))["access_token"]
