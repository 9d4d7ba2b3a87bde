"""Operations: health, metrics, request ids, JSON logs without secrets, sync status and the jobs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.bookings import create_booking
from edge.clock import FixedClock
from edge.jobs import EdgeJobs, document_reminders, nightly_backup, no_shows, run_job
from edge.journal import SYSTEM
from edge.observability import configure_logging, count_verdict, mask_secrets
from edge.services import EdgeServices
from edge.settings import EdgeSettings
from sync.shapes.bookings import BookingCreate
from sync.vocabulary import Role
from tests.edge.conftest import PASSWORD, START, Login
from tests.edge.seed import seed

Client = AsyncTestClient[Litestar]
LOG_KEYS = {"time", "level", "logger", "message", "request_id"}
ACCESS_KEYS = {"method", "path", "status", "duration_ms"}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every log record as JSON lines into a buffer, as ``prep-edge serve`` configures it."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines_of(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# --- health, metrics, request ids ----------------------------------------------------------------


async def test_health_endpoints_answer_without_auth(client: Client) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok" and ready.json()["reference_version"] >= 1


async def test_metrics_expose_latency_verdicts_outbox_and_audit(
    client: Client, app: Litestar
) -> None:
    services: EdgeServices = app.state.services
    await client.get("/health/live")
    count_verdict(services, "DENY")
    count_verdict(services, "DENY")
    count_verdict(services, "ALLOW")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "prep_edge_http_request_duration_seconds_bucket",
        "prep_edge_outbox_depth",
        "prep_edge_audit_sequence",
        "prep_edge_reference_version",
        "prep_edge_verdicts_total",
        "prep_edge_job_runs_total",
    ):
        assert name in text
    assert 'route="/health/live"' in text and 'status="200"' in text
    assert 'prep_edge_verdicts_total{result="DENY"} 2.0' in text
    assert 'prep_edge_verdicts_total{result="CONDITIONS"} 0.0' in text  # zero, yet present
    with sqlite3.connect(services.settings.database_path) as db:
        depth = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        seq = db.execute("SELECT audit_seq FROM node_state").fetchone()[0]
    assert f"prep_edge_outbox_depth {float(depth)}" in text
    assert f"prep_edge_audit_sequence {float(seq)}" in text


async def test_each_app_has_its_own_registry(settings: EdgeSettings, clock: FixedClock) -> None:
    for _ in range(2):  # a second app must not collide with the first one's metrics
        async with AsyncTestClient(create_app(settings, clock=clock)) as client:
            assert (await client.get("/metrics")).status_code == 200


async def test_request_id_is_echoed_or_generated(client: Client) -> None:
    given = await client.get("/health/live", headers={"X-Request-ID": "door-7.42"})
    assert given.headers["x-request-id"] == "door-7.42"
    fresh = await client.get("/health/live")
    assert len(fresh.headers["x-request-id"]) == 32
    odd = await client.get("/health/live", headers={"X-Request-ID": "x" * 65})
    assert odd.headers["x-request-id"] != "x" * 65
    failed = await client.get("/api/v1/bookings", headers={"X-Request-ID": "no-auth-1"})
    assert failed.status_code == 401
    assert failed.headers["x-request-id"] == "no-auth-1"


# --- logs -----------------------------------------------------------------------------------------


async def test_logs_are_json_lines_without_passwords_or_tokens(
    client: Client, login: Login, json_logs: io.StringIO
) -> None:
    headers = await login(Role.STAFF)
    token = headers["Authorization"].removeprefix("Bearer ")
    await client.post("/api/v1/auth/login", json={"username": "staff-user", "password": "wrong!"})
    tokens = await client.post(
        "/api/v1/auth/login", json={"username": "staff-user", "password": PASSWORD}
    )
    refresh = tokens.json()["refresh_token"]
    await client.get("/api/v1/renters?email=someone%40example.com", headers=headers)
    await client.get("/api/v1/sync/status", headers={**headers, "X-Request-ID": "trace-1"})
    logging.getLogger("prep.edge.test").info("oops password=%s token: %s", PASSWORD, refresh)

    # The test's own HTTP client (httpx) logs the URLs it calls; the edge's lines are checked.
    records = [r for r in lines_of(json_logs) if not str(r["logger"]).startswith("httpx")]
    text = "\n".join(json.dumps(r) for r in records)
    assert records, "nothing was logged"
    for record in records:
        assert record.keys() >= LOG_KEYS
    access = [r for r in records if r["logger"] == "prep.edge.access"]
    assert {r["path"] for r in access} >= {"/api/v1/auth/login", "/api/v1/sync/status"}
    assert all(r.keys() >= ACCESS_KEYS for r in access)
    assert any(r["request_id"] == "trace-1" and r["status"] == 200 for r in access)
    for secret in (PASSWORD, "wrong!", token, refresh, "someone@example.com", "someone%40"):
        assert secret not in text
    assert "Bearer" not in text


def test_masking_catches_the_usual_shapes() -> None:
    masked = mask_secrets(
        "Authorization: Bearer abc.def.ghi password=hunter2 pin: 123456 "
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
    )
    for secret in ("abc.def.ghi", "hunter2", "123456", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in masked


# --- sync status ----------------------------------------------------------------------------------


async def test_sync_status_reports_the_outbox(
    client: Client, login: Login, settings: EdgeSettings
) -> None:
    headers = await login(Role.STAFF)
    response = await client.get("/api/v1/sync/status", headers=headers)
    assert response.status_code == 200
    body = response.json()
    with sqlite3.connect(settings.database_path) as db:
        depth, oldest = db.execute("SELECT count(*), min(created_at) FROM outbox").fetchone()
    assert body["enrolled"] is False and body["online"] is False
    assert body["outbox_depth"] == depth > 0
    assert datetime.fromisoformat(body["oldest_unsent_at"]) == datetime.fromisoformat(oldest)
    assert body["reference_version"] >= 1
    for field in ("offline_since", "last_push_at", "last_pull_at", "clock_offset_ms"):
        assert body[field] is None
    assert body["open_conflicts"] == 0
    assert (await client.get("/api/v1/sync/status")).status_code == 401


# --- jobs -----------------------------------------------------------------------------------------


async def test_no_show_job_marks_late_bookings(
    app: Litestar, client: Client, clock: FixedClock
) -> None:
    services: EdgeServices = app.state.services
    seeded = await seed(services)
    start = START + timedelta(hours=1)
    data = BookingCreate(
        resource_id=seeded.resource_id,
        renter_id=seeded.renter_id,
        start=start,
        end=start + timedelta(hours=2),
    )
    booking, _ = await create_booking(services, SYSTEM, data)
    clock.advance(hours=1, minutes=45)
    assert await run_job(services, "no_shows", no_shows)
    with sqlite3.connect(services.settings.database_path) as db:
        status = db.execute("SELECT status FROM booking WHERE id = ?", (booking.id,)).fetchone()[0]
    assert status == "no_show"
    assert services.counters["job:no_shows:ok"] == 1


async def test_backup_and_reminder_jobs_run_on_the_clock(app: Litestar, client: Client) -> None:
    services: EdgeServices = app.state.services
    assert await run_job(services, "backup", nightly_backup)
    assert (services.settings.backup_dir / "edge-20251105T160000Z.sqlite").is_file()
    assert await run_job(services, "reminders", document_reminders)
    assert services.counters["job:backup:ok"] == services.counters["job:reminders:ok"] == 1


async def test_a_failing_job_is_logged_counted_and_survived(
    app: Litestar, client: Client, json_logs: io.StringIO
) -> None:
    services: EdgeServices = app.state.services

    async def broken(_services: EdgeServices, _now: datetime) -> None:
        raise RuntimeError("the disk is full")

    assert await run_job(services, "backup", broken) is False
    assert services.counters["job:backup:error"] == 1
    failure = [r for r in lines_of(json_logs) if r["level"] == "ERROR"]
    assert failure and failure[0]["job"] == "backup"
    assert "the disk is full" in str(failure[0]["exception"])
    assert (await client.get("/health/ready")).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'prep_edge_job_runs_total{job="backup",outcome="error"} 1.0' in metrics


async def test_the_lifespan_starts_and_stops_the_scheduler(
    settings: EdgeSettings, clock: FixedClock
) -> None:
    enabled = settings.model_copy(
        update={"jobs": settings.jobs.model_copy(update={"enabled": True})}
    )
    app = create_app(enabled, clock=clock)
    async with AsyncTestClient(app):
        jobs: EdgeJobs = app.state.jobs
        assert jobs.scheduler.running
        assert {job.id for job in jobs.scheduler.get_jobs()} == {
            "reminders",
            "backup",
            "no_shows",
            "sync",
        }
        backup_trigger = jobs.scheduler.get_job("backup").trigger
        assert str(backup_trigger) == "cron[hour='3']"
        assert str(backup_trigger.timezone) == "America/Los_Angeles"
    await asyncio.sleep(0)
    assert not jobs.scheduler.running


async def test_stopping_cancels_a_job_that_overruns_its_grace(
    app: Litestar, client: Client
) -> None:
    services: EdgeServices = app.state.services
    jobs = EdgeJobs(services, ZoneInfo("America/Los_Angeles"))
    jobs.start()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(_services: EdgeServices, _now: datetime) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    jobs.scheduler.add_job(jobs._run, args=("stuck", stuck), id="stuck")
    await asyncio.wait_for(started.wait(), timeout=5)
    await jobs.stop(grace_seconds=0.05)
    assert cancelled.is_set()
    assert not jobs.scheduler.running
