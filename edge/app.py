"""``create_app(settings)``: the edge's Litestar application, collaborators injected.

The lifespan opens the database, the journal (clock and counters), the verified reference
bundle and the PII cipher (``edge.runtime.open_services``), puts them in one ``EdgeServices``
that every handler receives, and runs the scheduled jobs when ``jobs.enabled``. Every request
gets an id, a JSON access log line and a latency observation (``edge.observability``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from edge.api import (
    audit,
    auth,
    bookings,
    compliance,
    conflicts,
    documents,
    health,
    site,
    sync,
)
from edge.auth_deps import provide_actor
from edge.clock import Clock, SystemClock
from edge.errors_http import EXCEPTION_HANDLERS
from edge.jobs import start_jobs
from edge.observability import Metrics, RequestContextMiddleware, metrics_page
from edge.runtime import open_services
from edge.services import EdgeServices
from edge.settings import EdgeSettings
from edge.sync_runner import SyncRunner

if TYPE_CHECKING:
    import httpx

API_PREFIX = "/api/v1"


def create_app(
    settings: EdgeSettings,
    clock: Clock | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """The edge app; ``hub_transport`` stands in for the network to the hub (tests)."""
    clock = clock or SystemClock()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_services(settings, clock) as services:
            app.state.services = services
            runner = SyncRunner(services, hub_transport)
            app.state.sync_runner = runner
            metrics.bind(services)
            jobs = await start_jobs(services, runner) if settings.jobs.enabled else None
            app.state.jobs = jobs
            checkpoints = asyncio.create_task(services.db.checkpoints())
            try:
                yield
            finally:
                checkpoints.cancel()
                if jobs is not None:
                    await jobs.stop()
                await runner.wait_background()
                await runner.close()
                metrics.bind(None)

    def provide_services(state: State) -> EdgeServices:
        services: EdgeServices = state.services
        return services

    def provide_metrics() -> Metrics:
        return metrics

    def provide_runner(state: State) -> SyncRunner:
        runner: SyncRunner = state.sync_runner
        return runner

    api_routes: list[Any] = [
        *auth.ROUTES,
        *site.ROUTES,
        *bookings.ROUTES,
        *compliance.ROUTES,
        *audit.ROUTES,
        *sync.ROUTES,
        *conflicts.ROUTES,
    ]
    return Litestar(
        route_handlers=[
            *health.ROUTES,
            metrics_page,
            Router(
                API_PREFIX,
                route_handlers=api_routes,
                request_max_body_size=settings.limits.max_json_bytes,
            ),
            Router(
                API_PREFIX,
                route_handlers=documents.ROUTES,
                request_max_body_size=settings.limits.max_upload_bytes + 64 * 1024,
            ),
        ],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "metrics": Provide(provide_metrics, sync_to_thread=False),
            "runner": Provide(provide_runner, sync_to_thread=False),
            "actor": Provide(provide_actor),
        },
        middleware=[RequestContextMiddleware(metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        logging_config=None,  # logs are configured once at the entry point, as JSON lines
        openapi_config=OpenAPIConfig(title="Prep edge", version="0.1.0", path="/schema"),
        request_max_body_size=settings.limits.max_upload_bytes + 64 * 1024,
        debug=False,
    )
