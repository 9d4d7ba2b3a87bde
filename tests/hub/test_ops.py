"""Operations: health, readiness, metrics, OpenAPI, X-Hub-Time on every response, JSON errors."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub.api.markers import Session
from hub.app import create_app
from hub.clock import FixedClock, epoch_ms
from hub.db import Database
from hub.migrate import HEAD_REVISION
from hub.observability import configure_logging, mask_secrets
from hub.settings import HubSettings
from tests.hub.conftest import START, Headers

Client = AsyncTestClient[Litestar]
NOW_MS = str(epoch_ms(START))
ERROR_KEYS = {"code", "message", "details"}


async def test_liveness_and_readiness(hub_client: Client) -> None:
    live = await hub_client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await hub_client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "schema_revision": HEAD_REVISION}


@pytest.mark.parametrize("where", ["closed port", "missing database"])
async def test_readiness_is_503_when_the_database_does_not_answer(
    hub_settings: HubSettings, clock: FixedClock, where: str
) -> None:
    url = make_url(hub_settings.database_url)
    url = url.set(port=9) if where == "closed port" else url.set(database="prep_hub_none")
    unreachable = hub_settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False)}
    )
    async with AsyncTestClient(create_app(unreachable, clock=clock)) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "unavailable"
        assert (await client.get("/health/live")).status_code == 200
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "prep_hub_database_up 0.0" in metrics.text
        login = await client.post("/api/v1/auth/login", json={"username": "a@b.c", "password": "x"})
        assert login.status_code == 503 and set(login.json()["error"]) == ERROR_KEYS


async def test_readiness_is_503_before_migrations(
    hub_settings: HubSettings, hub_db: Database, clock: FixedClock
) -> None:
    async with hub_db.write() as session:
        await (await session.connection()).exec_driver_sql(
            "UPDATE alembic_version SET version_num = '0000'"
        )
    try:
        async with AsyncTestClient(create_app(hub_settings, clock=clock)) as client:
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "schema_outdated"
    finally:
        async with hub_db.write() as session:
            await (await session.connection()).exec_driver_sql(
                "UPDATE alembic_version SET version_num = '0001'"
            )


async def test_metrics_are_prometheus_text_per_app(hub_client: Client) -> None:
    await hub_client.get("/health/live")
    response = await hub_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'prep_hub_http_request_duration_seconds_count{method="GET",route="/health/live",' in text
    assert "prep_hub_database_up 1.0" in text
    assert "prep_hub_reference_version 0.0" in text


async def test_the_openapi_schema_lists_the_api(hub_client: Client) -> None:
    response = await hub_client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/auth/login", "/api/v1/nodes", "/api/v1/nodes/{node_id}/revoke"} <= set(paths)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health/live", 200),
        ("GET", "/metrics", 200),
        ("GET", "/no/such/route", 404),
        ("DELETE", "/api/v1/nodes", 405),
        ("GET", "/api/v1/nodes", 401),
        ("POST", "/api/v1/auth/login", 400),
    ],
)
async def test_every_response_carries_the_hub_time(
    hub_client: Client, method: str, path: str, status: int
) -> None:
    response = await hub_client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["x-hub-time"] == NOW_MS
    if status >= 400:
        assert set(response.json()["error"]) == ERROR_KEYS


async def test_the_hub_time_follows_the_clock(hub_client: Client, clock: FixedClock) -> None:
    clock.advance(seconds=1.5)
    response = await hub_client.get("/health/live")
    assert int(response.headers["x-hub-time"]) == epoch_ms(START) + 1500


async def test_request_ids_are_echoed_or_made(hub_client: Client) -> None:
    given = await hub_client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await hub_client.get("/health/live", headers={"X-Request-ID": "bad id\x01"})
    assert len(made.headers["x-request-id"]) == 32


async def test_an_oversized_body_is_413_json(hub_client: Client) -> None:
    body = b'{"username": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "p"}'
    response = await hub_client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "path", ["/api/v1/nodes/%00/revoke", "/api/v1/nodes/" + "x" * 200 + "/revoke"]
)
async def test_odd_path_ids_are_4xx(hub_client: Client, admin_headers: Headers, path: str) -> None:
    response = await hub_client.post(path, headers=admin_headers)
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == ERROR_KEYS


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


async def test_access_logs_are_json_without_secrets(
    hub_client: Client, admin_headers: Headers, json_logs: io.StringIO
) -> None:
    await hub_client.get("/api/v1/nodes?token=s3cret", headers=admin_headers)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "prep.hub.access"]
    assert access and access[-1]["path"] == "/api/v1/nodes" and access[-1]["status"] == 200
    assert "s3cret" not in json_logs.getvalue()
    assert admin_headers["Authorization"].split()[1] not in json_logs.getvalue()


def test_secrets_are_masked_in_messages() -> None:
    token = secrets.token_urlsafe(16)
    masked = mask_secrets(f"Authorization: Bearer {token} password={token}")
    assert token not in masked


async def test_a_value_postgresql_cannot_store_is_400_not_500(
    hub_settings: HubSettings, clock: FixedClock
) -> None:
    @get("/probe/nul")
    async def store_nul(session: Session) -> None:
        await (await session.connection()).execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00"})

    app = create_app(hub_settings, clock=clock)
    app.register(store_nul)
    async with AsyncTestClient(app) as client:
        response = await client.get("/probe/nul")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
