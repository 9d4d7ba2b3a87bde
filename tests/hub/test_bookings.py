"""Booking online on the hub (``POST /api/v1/bookings``) and reading bookings back.

A booking is checked against the latest published reference bundle, priced, inserted under the
site's lock with hub stamps and fed to the site's edge (renter first, then the booking); a
refused one leaves nothing behind. The site is in San Francisco (minimum 2 hours, 180 days
ahead, Commercial Rents Tax 3.5 %); the hub's clock stands at 2025-11-05 08:00 local.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from hub.bundles import publish_bundle
from hub.clock import FixedClock, epoch_ms
from hub.db import Database
from hub.settings import HubSettings
from hub.sync_pull import opened
from hub.tables import Renter, Resource
from reference_db.builder import DEFAULT_SOURCES, build_bundle
from reference_db.signing import load_public_key, public_path
from sync.ids import uuid7
from sync.pii import PiiCipher
from tests.hub.conftest import START, Headers, Login, add_site

Client = AsyncTestClient[Litestar]
RATE = 5000  # cents an hour
RENTER, OTHER_RENTER = "renter-1", "renter-2"
EMAIL, PHONE = "chef@tacos.test", "+1 415 555 0100"
TOMORROW = "2025-11-06T"


def new_id(offset_ms: int = 0) -> str:
    return str(uuid7(epoch_ms(START) + offset_ms))


def body(start: str = "10:00", end: str = "14:00", **fields: Any) -> dict[str, Any]:
    """A booking of station r1 for renter-1: ``HH:MM`` is tomorrow's local time."""

    def when(value: str) -> str:
        return value if "T" in value else f"{TOMORROW}{value}:00"

    return {
        "resource_id": "r1",
        "renter_id": RENTER,
        "start": when(start),
        "end": when(end),
        "status": "confirmed",
        **fields,
    }


@pytest.fixture(scope="module")
def built_bundle(tmp_path_factory: pytest.TempPathFactory, refdb_key: Path) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "prep-reference.sqlite"
    build_bundle(DEFAULT_SOURCES, out, refdb_key, {})
    return out


async def publish(db: Database, settings: HubSettings, bundle: Path, key: Path) -> None:
    async with db.write() as session:
        await publish_bundle(
            session, bundle, load_public_key(public_path(key)), settings.bundle_dir, START
        )


async def seed(db: Database, settings: HubSettings) -> None:
    """Two sites, a station at each, two renters with sealed contact details."""
    await add_site(db, "site-1")
    await add_site(db, "site-2", "Bayview Kitchen")
    pii = PiiCipher(
        settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
    )
    async with db.write() as session:
        session.add_all([
            Resource(id="r1", site_id="site-1", name="Range 1", kind="station",
                     hourly_rate_cents=RATE, updated_hlc="0"),
            Resource(id="r2", site_id="site-2", name="Range 2", kind="station",
                     hourly_rate_cents=RATE, updated_hlc="0"),
            Renter(id=RENTER, name="Taco Co", profile={"requires_ada_access": False},
                   email_cipher=pii.seal("email", EMAIL), email_index=pii.index("email", EMAIL),
                   phone_cipher=pii.seal("phone", PHONE), phone_index=pii.index("phone", PHONE),
                   updated_hlc="1762329600000-00003-node-a"),
            Renter(id=OTHER_RENTER, name="Pie Co", updated_hlc="0"),
        ])  # fmt: skip


@pytest.fixture
async def kitchen(
    hub_db: Database, hub_settings: HubSettings, built_bundle: Path, refdb_key: Path
) -> AsyncIterator[None]:
    """The seeded sites and renters, with the reference bundle published."""
    await seed(hub_db, hub_settings)
    await publish(hub_db, hub_settings, built_bundle, refdb_key)
    yield


async def renter_login(login: Login, db: Database, renter_id: str = RENTER) -> Headers:
    headers = await login("renter", f"{renter_id}@prep.test")
    async with db.write() as session:
        await (await session.connection()).execute(
            text("UPDATE hub_user SET renter_id = :r WHERE email = :e"),
            {"r": renter_id, "e": f"{renter_id}@prep.test"},
        )
    return headers


async def rows(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.read() as session:
        result = await (await session.connection()).execute(text(sql), params)
        return [dict(row) for row in result.mappings()]


async def feed(db: Database) -> list[dict[str, Any]]:
    """The feed in order (payloads as PostgreSQL holds them: JSON)."""
    sql = "SELECT site_id, entity, entity_id, payload, hlc, origin FROM feed ORDER BY hub_seq"
    return await rows(db, sql)


async def stored(db: Database, booking_id: str) -> dict[str, Any]:
    (row,) = await rows(db, "SELECT * FROM booking WHERE id = :i", i=booking_id)
    return row


# --- creating ---------------------------------------------------------------------------------


async def test_a_renter_books_online_and_the_booking_goes_to_the_sites_feed(
    hub_client: Client, hub_db: Database, hub_settings: HubSettings, login: Login, kitchen: None
) -> None:
    pii = PiiCipher(
        hub_settings.pii_key.get_secret_value(), hub_settings.blind_index_key.get_secret_value()
    )
    headers = await renter_login(login, hub_db)
    booking_id = new_id()
    response = await hub_client.post("/api/v1/bookings", json=body(id=booking_id), headers=headers)
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["id"], out["site_id"], out["status"]) == (booking_id, "site-1", "confirmed")
    assert out["start"] == "2025-11-06T18:00:00Z" and out["end"] == "2025-11-06T22:00:00Z"
    assert out["local_start"] == "2025-11-06T10:00:00-08:00"
    assert out["price_cents"] == 20700  # 4 h x $50 + SF Commercial Rents Tax 3.5 %
    assert [line["code"] for line in out["quote"]["line_items"]] == ["CRT"]
    row = await stored(hub_db, booking_id)
    assert row["origin_node"] == "hub" and row["updated_hlc"].endswith("-hub")
    assert row["confirmed_hlc"] == row["updated_hlc"] and row["hold_expires_at"] is None
    renter, booking = await feed(hub_db)
    assert [
        (r["site_id"], r["entity"], r["entity_id"], r["origin"]) for r in (renter, booking)
    ] == [
        ("site-1", "renter", RENTER, "hub"),
        ("site-1", "booking", booking_id, "hub"),
    ]
    contact = renter["payload"]
    assert EMAIL not in json.dumps(contact) and PHONE not in json.dumps(contact)  # sealed at rest
    assert contact["name"] == "Taco Co" and contact["email_sealed"] and contact["phone_sealed"]
    sent = opened("renter", contact, pii)  # what the site's edge receives on pull
    assert (sent["email"], sent["phone"]) == (EMAIL, PHONE)
    assert contact["updated_hlc"] == renter["hlc"] == "1762329600000-00003-node-a"
    replicated = booking["payload"]
    assert replicated["status"] == "confirmed" and replicated["origin_node"] == "hub"
    assert replicated["starts_at"] == "2025-11-06T18:00:00+00:00"
    assert replicated["updated_hlc"] == booking["hlc"] == row["updated_hlc"]


async def test_a_hold_expires_and_frees_its_slot_without_anything_running(
    hub_client: Client,
    hub_db: Database,
    login: Login,
    admin_headers: Headers,
    kitchen: None,
    clock: FixedClock,
) -> None:
    held = await hub_client.post(
        "/api/v1/bookings", json=body(status="hold"), headers=admin_headers
    )
    assert held.status_code == 201
    assert held.json()["hold_expires_at"] == "2025-11-05T16:15:00Z"
    assert (await stored(hub_db, held.json()["id"]))["confirmed_hlc"] is None
    clock.advance(minutes=20)
    admin_headers = await login("admin", "later@prep.test")  # access tokens last 15 minutes
    shown = await hub_client.get(f"/api/v1/bookings/{held.json()['id']}", headers=admin_headers)
    assert (shown.json()["status"], shown.json()["cancel_reason"]) == ("cancelled", "hold_expired")
    again = await hub_client.post("/api/v1/bookings", json=body(), headers=admin_headers)
    assert again.status_code == 201, again.text
    assert (await stored(hub_db, held.json()["id"]))["status"] == "cancelled"
    fed = (await feed(hub_db))[2:]
    assert [(r["entity"], r["entity_id"]) for r in fed] == [
        ("booking", held.json()["id"]),  # the expired hold, lapsed for the edge too
        ("renter", RENTER),
        ("booking", again.json()["id"]),
    ]
    assert fed[0]["payload"]["lapsed"] is True  # not a user's cancel: a confirmation overrules


async def test_a_retried_id_answers_the_same_booking(
    hub_client: Client, hub_db: Database, admin_headers: Headers, kitchen: None
) -> None:
    request = body(id=new_id())
    first = await hub_client.post("/api/v1/bookings", json=request, headers=admin_headers)
    again = await hub_client.post("/api/v1/bookings", json=request, headers=admin_headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(await feed(hub_db)) == 2  # the retry appended nothing
    other = await hub_client.post(
        "/api/v1/bookings", json={**request, "end": f"{TOMORROW}15:00:00"}, headers=admin_headers
    )
    assert other.status_code == 409
    assert other.json()["error"]["details"] == {"id": request["id"]}


async def test_an_overlap_is_refused_naming_the_booking_that_holds_the_slot(
    hub_client: Client, hub_db: Database, admin_headers: Headers, kitchen: None
) -> None:
    first = await hub_client.post("/api/v1/bookings", json=body(), headers=admin_headers)
    clash = await hub_client.post(
        "/api/v1/bookings",
        json=body("13:00", "16:00", renter_id=OTHER_RENTER, id=new_id(1)),
        headers=admin_headers,
    )
    assert clash.status_code == 409
    error = clash.json()["error"]
    assert error["code"] == "slot_taken"
    assert error["details"]["clashing_booking"] == {
        "id": first.json()["id"],
        "start": "2025-11-06T18:00:00+00:00",
        "end": "2025-11-06T22:00:00+00:00",
        "status": "confirmed",
    }
    assert [r["entity_id"] for r in await feed(hub_db)] == [RENTER, first.json()["id"]]
    after = await hub_client.post(
        "/api/v1/bookings", json=body("14:00", "16:00"), headers=admin_headers
    )
    assert after.status_code == 201  # [start, end): back to back is no overlap


async def test_hub_stamps_only_move_forward(
    hub_client: Client, hub_db: Database, admin_headers: Headers, kitchen: None
) -> None:
    stamps = []
    for start, end in (("06:00", "08:00"), ("08:00", "10:00"), ("10:00", "12:00")):
        made = await hub_client.post(
            "/api/v1/bookings", json=body(start, end), headers=admin_headers
        )
        stamps.append((await stored(hub_db, made.json()["id"]))["updated_hlc"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


LONG = "x" * 37


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"resource_id": 5}, 400),
        ({"start": "tomorrow at ten"}, 400),
        ({"status": "checked_in"}, 400),
        ({"colour": "blue"}, 400),
        ({"resource_id": LONG}, 400),
        ({"id": LONG}, 400),
        ({"id": "not-a-uuid7"}, 400),
        ({"resource_id": "nope"}, 404),
        ({"renter_id": "nope"}, 404),
        ({"end": f"{TOMORROW}09:00:00"}, 422),  # before the start
        ({"end": f"{TOMORROW}10:00:00"}, 422),  # empty
        ({"start": "2025-11-04T10:00:00", "end": "2025-11-04T14:00:00"}, 422),  # the past
        ({"end": f"{TOMORROW}11:00:00"}, 422),  # shorter than 2 hours
        ({"start": "2026-06-01T10:00:00", "end": "2026-06-01T14:00:00"}, 422),  # > 180 days
        ({"start": "2025-11-06T10:00:00", "end": "2025-11-21T10:00:00"}, 422),  # > 14 days
        ({"start": "2025-11-06T18:00:00+00:00", "end": f"{TOMORROW}09:00:00"}, 422),  # mixed
    ],
)
async def test_bad_requests_are_refused_with_a_json_error_and_leave_nothing(
    hub_client: Client,
    hub_db: Database,
    admin_headers: Headers,
    kitchen: None,
    change: dict[str, Any],
    status: int,
) -> None:
    response = await hub_client.post("/api/v1/bookings", json=body(**change), headers=admin_headers)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert await feed(hub_db) == []


async def test_rental_limits_name_their_rule(
    hub_client: Client, admin_headers: Headers, kitchen: None
) -> None:
    short = await hub_client.post("/api/v1/bookings", json=body(end="11:00"), headers=admin_headers)
    assert short.json()["error"]["code"] == "booking_refused"
    assert short.json()["error"]["details"]["rule"] == "RENTAL_MIN_HOURS"


async def test_without_a_published_bundle_booking_waits(
    hub_client: Client, hub_db: Database, hub_settings: HubSettings, admin_headers: Headers
) -> None:
    await seed(hub_db, hub_settings)
    response = await hub_client.post("/api/v1/bookings", json=body(), headers=admin_headers)
    assert response.status_code == 409
    assert "no reference bundle has been published" in response.json()["error"]["message"]
    assert await feed(hub_db) == []


async def test_a_site_without_a_time_zone_cannot_take_bookings_yet(
    hub_client: Client, hub_db: Database, admin_headers: Headers, kitchen: None
) -> None:
    async with hub_db.write() as session:
        await (await session.connection()).execute(
            text("UPDATE site SET timezone = NULL WHERE id = 'site-1'")
        )
    response = await hub_client.post("/api/v1/bookings", json=body(), headers=admin_headers)
    assert response.status_code == 409


# --- who may book -----------------------------------------------------------------------------


async def test_hosts_book_at_their_own_site_only(
    hub_client: Client, login: Login, kitchen: None
) -> None:
    host = await login("host")  # a host of site-1
    here = await hub_client.post("/api/v1/bookings", json=body(), headers=host)
    there = await hub_client.post("/api/v1/bookings", json=body(resource_id="r2"), headers=host)
    assert (here.status_code, there.status_code) == (201, 403)


async def test_renters_book_only_for_themselves(
    hub_client: Client, hub_db: Database, login: Login, kitchen: None
) -> None:
    mine = await renter_login(login, hub_db)
    other = await hub_client.post(
        "/api/v1/bookings", json=body(renter_id=OTHER_RENTER), headers=mine
    )
    assert other.status_code == 403
    unlinked = await login("renter", "nobody@prep.test")
    refused = await hub_client.post("/api/v1/bookings", json=body(), headers=unlinked)
    assert refused.status_code == 403
    assert "not linked" in refused.json()["error"]["message"]


@pytest.mark.parametrize("role", ["staff", "support"])
async def test_staff_and_support_do_not_book_online(
    hub_client: Client, hub_db: Database, login: Login, kitchen: None, role: str
) -> None:
    response = await hub_client.post("/api/v1/bookings", json=body(), headers=await login(role))
    assert response.status_code == 403
    assert await feed(hub_db) == []


# --- reading ----------------------------------------------------------------------------------


async def book_both_sites(client: Client, headers: Headers) -> tuple[str, str, str]:
    """renter-1 at site-1 and at site-2, renter-2 at site-1 later in the day."""
    ids = []
    later = {
        "renter_id": OTHER_RENTER,
        "start": f"{TOMORROW}15:00:00",
        "end": f"{TOMORROW}18:00:00",
    }
    for change in ({}, {"resource_id": "r2"}, later):
        made = await client.post("/api/v1/bookings", json=body(**change), headers=headers)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids[0], ids[1], ids[2]


async def test_each_role_lists_what_it_may_see(
    hub_client: Client, hub_db: Database, login: Login, admin_headers: Headers, kitchen: None
) -> None:
    here, there, later = await book_both_sites(hub_client, admin_headers)

    async def listed(headers: Headers, query: str = "") -> list[str]:
        response = await hub_client.get(f"/api/v1/bookings{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [b["id"] for b in response.json()]

    assert sorted(await listed(admin_headers)) == sorted([here, there, later])
    assert await listed(admin_headers, "?site_id=site-1") == [here, later]
    assert await listed(await login("support"), "?site_id=site-2") == [there]
    staff = await login("staff")
    assert await listed(staff) == [here, later]
    window = "?from=2025-11-06T23:00:00Z&to=2025-11-07T00:00:00Z"
    assert await listed(staff, window) == [later]
    assert (
        await hub_client.get("/api/v1/bookings?site_id=site-2", headers=staff)
    ).status_code == 403
    assert sorted(await listed(await renter_login(login, hub_db))) == sorted([here, there])
    assert await listed(await login("renter", "nobody@prep.test")) == []
    naive = await hub_client.get("/api/v1/bookings?from=2025-11-06T10:00:00", headers=staff)
    assert naive.status_code == 400


async def test_one_booking_is_shown_only_to_those_who_may_see_it(
    hub_client: Client, hub_db: Database, login: Login, admin_headers: Headers, kitchen: None
) -> None:
    here, there, later = await book_both_sites(hub_client, admin_headers)
    staff, renter = await login("staff"), await renter_login(login, hub_db)
    for headers, booking_id, status in [
        (staff, here, 200), (staff, there, 404), (renter, there, 200), (renter, later, 404),
        (admin_headers, "missing", 404),
    ]:  # fmt: skip
        response = await hub_client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
        assert response.status_code == status, (booking_id, response.text)
    shown = await hub_client.get(f"/api/v1/bookings/{here}", headers=staff)
    assert shown.json()["local_end"] == "2025-11-06T14:00:00-08:00"


async def test_a_booking_an_edge_pushed_holds_its_slot_too(
    hub_client: Client, hub_db: Database, admin_headers: Headers, kitchen: None
) -> None:
    async with hub_db.write() as session:
        await (await session.connection()).execute(
            text(
                "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at,"
                " status, price_cents, origin_node, created_at, updated_at, updated_hlc)"
                " VALUES ('edge-1', 'site-1', 'r1', :r, :s, :e, 'checked_in', 0, 'node-a',"
                " :s, :s, '0')"
            ),
            {"r": OTHER_RENTER, "s": START + timedelta(days=1, hours=3),
             "e": START + timedelta(days=1, hours=5)},
        )  # fmt: skip
    response = await hub_client.post("/api/v1/bookings", json=body(), headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["clashing_booking"]["id"] == "edge-1"
    assert await feed(hub_db) == []
