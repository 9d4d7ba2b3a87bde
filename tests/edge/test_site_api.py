"""Site setup endpoints: the site profile, resources and renters, their roles and bad input."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sync import scenarios
from sync.ids import is_uuid7
from sync.vocabulary import Role
from tests.edge.conftest import Login

Client = AsyncTestClient[Litestar]
SITE, RESOURCES, RENTERS = "/api/v1/site", "/api/v1/resources", "/api/v1/renters"

SITE_PATCH: dict[str, Any] = {
    "name": "Mission Kitchen Co-op",
    "address": "2 Harrison St, San Francisco",
    "latitude": 37.76,
    "longitude": -122.41,
    "permits": [{"kind": "health_permit", "status": "active", "expires_at": "2026-12-31T23:59:59"}],
    "zoning": {"district": "PDR", "neighborhood_notice_doc_id": "n1"},
    "ada_accessible": True,
    "grease": {"last_service_at": "2025-10-15T08:00:00"},
    "inspections": [
        {"kind": "health", "start": "2025-11-20T09:00:00", "end": "2025-11-20T11:00:00"}
    ],
    "maintenance": [{"start": "2025-12-01T00:00:00", "end": "2025-12-02T00:00:00"}],
}
RENTER: dict[str, Any] = {
    "name": "Artisan Bakery",
    "email": "Owner@Artisan.example",
    "phone": "+1 415 555 0100",
    "insurance": {"general_liability_cents": 100_000_000, "aggregate_cents": 200_000_000},
    "requires_ada_access": False,
    "activities": ["baked_goods"],
}
RESOURCE = {"name": "Station 1", "kind": "station", "hourly_rate_cents": 3000}


def rows(app: Litestar, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    path: Path = app.state.services.settings.database_path
    with sqlite3.connect(path) as db:
        return db.execute(sql, args).fetchall()


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def add_renter(client: Client, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = await client.post(RENTERS, json={**RENTER, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- site --------------------------------------------------------------------------------------


async def test_host_patches_the_site_and_everyone_on_site_reads_it(
    client: Client, login: Login, app: Litestar
) -> None:
    host = await login(Role.HOST)
    response = await client.patch(SITE, json=SITE_PATCH, headers=host)
    assert response.status_code == 200, response.text
    for role in (Role.HOST, Role.STAFF, Role.ADMIN):
        site = (await client.get(SITE, headers=await login(role))).json()
        assert site["name"] == "Mission Kitchen Co-op"
        assert site["latitude"] == 37.76 and site["jurisdiction"] == "san_francisco"
        assert site["permits"][0]["kind"] == "health_permit"
        assert site["zoning"]["district"] == "PDR"
    (profile,) = rows(app, "SELECT profile FROM site")[0]
    scenarios.Site.model_validate(json.loads(profile))  # what the engine reads
    (state,) = rows(app, "SELECT payload FROM outbox WHERE entity = 'site' ORDER BY seq DESC")[0]
    assert json.loads(state)["name"] == "Mission Kitchen Co-op"


async def test_patch_changes_only_the_keys_sent(client: Client, login: Login) -> None:
    host = await login(Role.HOST)
    await client.patch(SITE, json=SITE_PATCH, headers=host)
    response = await client.patch(SITE, json={"ada_accessible": False}, headers=host)
    site = response.json()
    assert site["ada_accessible"] is False
    assert site["name"] == "Mission Kitchen Co-op" and len(site["permits"]) == 1
    cleared = (await client.patch(SITE, json={"address": None}, headers=host)).json()
    assert cleared["address"] is None and cleared["latitude"] == 37.76


async def test_only_hosts_and_admins_patch_the_site(client: Client, login: Login) -> None:
    for role in (Role.STAFF, Role.RENTER):
        response = await client.patch(SITE, json={"name": "Mine"}, headers=await login(role))
        assert_error(response, 403)
    assert_error(await client.get(SITE, headers=await login(Role.RENTER)), 403)
    assert_error(await client.patch(SITE, json={"name": "Mine"}), 401)
    response = await client.patch(SITE, json={"name": "Ours"}, headers=await login(Role.ADMIN))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"latitude": 91}, 400),
        ({"longitude": -180.5}, 400),
        ({"latitude": "37.7"}, 400),
        ({"name": ""}, 400),
        ({"name": "x" * 201}, 400),
        ({"name": None}, 422),
        ({"address": "x" * 501}, 400),
        ({"lat": 37.7}, 400),
        ({"permits": "health"}, 400),
        ({"permits": [{"status": "active"}]}, 400),
        ({"maintenance": [{"start": "2025-12-02T00:00:00", "end": "2025-12-01T00:00:00"}]}, 400),
        ({"grease": {"last_service_at": "last tuesday"}}, 400),
        ({"ada_accessible": [1]}, 400),
        ({}, 422),
        ([], 400),
    ],
)
async def test_bad_site_patches_are_refused(
    client: Client, login: Login, body: Any, status: int
) -> None:
    assert_error(await client.patch(SITE, json=body, headers=await login(Role.HOST)), status)


async def test_malformed_json_is_400_everywhere(client: Client, login: Login) -> None:
    host = {**await login(Role.HOST), "Content-Type": "application/json"}
    for method, url in (("PATCH", SITE), ("POST", RESOURCES), ("POST", RENTERS)):
        response = await client.request(method, url, content=b'{"name": ', headers=host)
        assert_error(response, 400)


# --- resources -----------------------------------------------------------------------------------


async def test_host_adds_resources_and_site_roles_list_them(
    client: Client, login: Login, app: Litestar
) -> None:
    response = await client.post(RESOURCES, json=RESOURCE, headers=await login(Role.HOST))
    assert response.status_code == 201, response.text
    created = response.json()
    assert is_uuid7(created["id"]) and created["hourly_rate_cents"] == 3000
    listed = (await client.get(RESOURCES, headers=await login(Role.STAFF))).json()
    assert [r["id"] for r in listed] == [created["id"]]
    audit = rows(app, "SELECT entity_id FROM audit_event WHERE action = 'resource.create'")
    assert audit == [(created["id"],)]
    assert rows(app, "SELECT count(*) FROM outbox WHERE entity = 'resource'") == [(1,)]


async def test_staff_and_renters_cannot_add_resources(client: Client, login: Login) -> None:
    for role in (Role.STAFF, Role.RENTER):
        assert_error(await client.post(RESOURCES, json=RESOURCE, headers=await login(role)), 403)
    assert_error(await client.get(RESOURCES, headers=await login(Role.RENTER)), 403)


@pytest.mark.parametrize(
    "changes",
    [
        {"hourly_rate_cents": -1},
        {"hourly_rate_cents": 10**12 + 1},
        {"hourly_rate_cents": "3000"},
        {"hourly_rate_cents": 30.5},
        {"hourly_rate_cents": None},
        {"name": "x" * 201},
        {"name": "   "},
        {"kind": "k" * 65},
        {"colour": "red"},
    ],
)
async def test_bad_resources_are_400(client: Client, login: Login, changes: dict[str, Any]) -> None:
    body = {**RESOURCE, **changes}
    assert_error(await client.post(RESOURCES, json=body, headers=await login(Role.HOST)), 400)


async def test_a_resource_without_a_kind_is_400(client: Client, login: Login) -> None:
    body = {"name": "Station", "hourly_rate_cents": 1}
    assert_error(await client.post(RESOURCES, json=body, headers=await login(Role.HOST)), 400)


# --- renters -------------------------------------------------------------------------------------


async def test_renters_are_created_read_and_found_by_email(
    client: Client, login: Login, app: Litestar
) -> None:
    staff = await login(Role.STAFF)
    created = await add_renter(client, staff)
    assert is_uuid7(created["id"])
    assert created["email"] == "Owner@Artisan.example" and created["phone"] == "+1 415 555 0100"
    read = (await client.get(f"{RENTERS}/{created['id']}", headers=staff)).json()
    assert read == created
    assert read["insurance"]["general_liability_cents"] == 100_000_000
    await add_renter(client, staff, name="Other", email="other@example.com", phone=None)
    found = await client.get(RENTERS, params={"email": " owner@ARTISAN.example"}, headers=staff)
    assert [r["id"] for r in found.json()] == [created["id"]]
    by_phone = await client.get(RENTERS, params={"phone": "+14155550100"}, headers=staff)
    assert [r["id"] for r in by_phone.json()] == [created["id"]]
    assert len((await client.get(RENTERS, headers=staff)).json()) == 2
    page = await client.get(RENTERS, params={"limit": 1, "offset": 1}, headers=staff)
    assert [r["name"] for r in page.json()] == ["Other"]
    (profile,) = rows(app, "SELECT profile FROM renter WHERE id = ?", created["id"])[0]
    scenarios.Renter.model_validate(json.loads(profile))


async def test_replicated_renter_state_carries_only_ciphertext(
    client: Client, login: Login, app: Litestar
) -> None:
    created = await add_renter(client, await login(Role.HOST))
    ((payload,),) = rows(app, "SELECT payload FROM outbox WHERE entity = 'renter'")
    audit = " ".join(r[0] for r in rows(app, "SELECT details FROM audit_event"))
    for text in (payload, audit):
        assert "artisan.example" not in text.lower() and "555" not in text
    state = json.loads(payload)
    assert state["id"] == created["id"]
    sealed = base64.b64decode(state["email_cipher"])
    assert app.state.services.pii.open("email", sealed) == "Owner@Artisan.example"


async def test_a_renter_account_reads_only_its_own_renter(client: Client, login: Login) -> None:
    host = await login(Role.HOST)
    mine, theirs = await add_renter(client, host), await add_renter(client, host, name="Rival")
    renter = await login(Role.RENTER, "bakery", renter_id=mine["id"])
    own = await client.get(f"{RENTERS}/{mine['id']}", headers=renter)
    assert own.status_code == 200 and own.json()["email"] == "Owner@Artisan.example"
    assert_error(await client.get(f"{RENTERS}/{theirs['id']}", headers=renter), 403)
    assert_error(await client.get(f"{RENTERS}/no-such-id", headers=renter), 403)
    assert_error(await client.get(RENTERS, headers=renter), 403)
    assert_error(await client.post(RENTERS, json=RENTER, headers=renter), 403)
    unlinked = await login(Role.RENTER, "nobody")
    assert_error(await client.get(f"{RENTERS}/{mine['id']}", headers=unlinked), 403)


async def test_unknown_renter_is_404(client: Client, login: Login) -> None:
    staff = await login(Role.STAFF)
    assert_error(
        await client.get(f"{RENTERS}/0190f0b2-0000-7000-8000-000000000000", headers=staff), 404
    )
    assert_error(await client.get(f"{RENTERS}/{'x' * 65}", headers=staff), 400)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "x" * 201},
        {"name": None},
        {"email": "not-an-email"},
        {"email": "a@b"},
        {"email": f"{'a' * 250}@example.com"},
        {"phone": "call me"},
        {"phone": "12"},
        {"phone": 4155550100},
        {"insurance": {"general_liability_cents": -5}},
        {"insurance": {"aggregate_cents": "lots"}},
        {"documents": "food_handler_card"},
        {"activities": ["x" * 201]},
        {"favourite_colour": "red"},
    ],
)
async def test_bad_renters_are_400(client: Client, login: Login, changes: dict[str, Any]) -> None:
    body = {**RENTER, **changes}
    assert_error(await client.post(RENTERS, json=body, headers=await login(Role.HOST)), 400)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": "many"}, {"offset": -1}, {"email": "x" * 255}],
)
async def test_bad_renter_queries_are_400(
    client: Client, login: Login, params: dict[str, Any]
) -> None:
    response = await client.get(RENTERS, params=params, headers=await login(Role.HOST))
    assert_error(response, 400)
