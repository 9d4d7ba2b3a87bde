"""``create_app(settings)``: the hub's Litestar application, collaborators injected.

The lifespan opens the database engine (``hub.services.open_services``) and puts one
``HubServices`` in ``app.state``; handlers receive it as ``services``, the request's transaction
as ``session`` and the signed-in user as ``actor``. Every request gets an id, a JSON access log
line and a latency observation; every response carries ``X-Hub-Time``.

Routes are grouped by prefix in ``_routers``: add a module's ``ROUTES`` to the list of its
group (central API, sync API), each with its own body-size limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from hub.api import auth, blobs, bookings, bundles, conflicts, health, nodes, sync
from hub.api.deps import provide_actor, provide_session
from hub.clock import Clock, SystemClock
from hub.errors_http import EXCEPTION_HANDLERS
from hub.observability import Metrics, RequestContextMiddleware, hub_time_hook
from hub.services import HubServices, open_services
from hub.settings import HubSettings

API_PREFIX = "/api/v1"
SYNC_PREFIX = "/sync/v1"


def _routers(settings: HubSettings) -> list[Any]:
    """Every route of the hub, by prefix."""
    # ==== ROUTES: add each new area's ``ROUTES`` to its group here ===============================
    # Central API under /api/v1 (bearer JWT, RBAC in each handler).
    api_routes: list[Any] = [
        *auth.ROUTES,
        *nodes.ROUTES,
        *bookings.ROUTES,
        *conflicts.ROUTES,
    ]
    # Sync API under /sync/v1 (signed by the node's key), e.g. ``*sync.ROUTES`` (hub/api/sync.py).
    sync_routes: list[Any] = [*sync.ROUTES, *blobs.ROUTES, *bundles.ROUTES]
    # ==============================================================================================
    routers: list[Any] = [
        *health.ROUTES,
        Router(
            API_PREFIX,
            route_handlers=api_routes,
            request_max_body_size=settings.limits.max_json_bytes,
        ),
    ]
    if sync_routes:
        routers.append(
            Router(
                SYNC_PREFIX,
                route_handlers=sync_routes,
                request_max_body_size=settings.limits.push_max_raw_bytes,
            )
        )
    return routers


def create_app(settings: HubSettings, clock: Clock | None = None) -> Litestar:
    clock = clock or SystemClock()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_services(settings, clock) as services:
            app.state.services = services
            metrics.bind(services)
            try:
                yield
            finally:
                metrics.bind(None)

    def provide_services(state: State) -> HubServices:
        services: HubServices = state.services
        return services

    def provide_metrics() -> Metrics:
        return metrics

    return Litestar(
        route_handlers=_routers(settings),
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "metrics": Provide(provide_metrics, sync_to_thread=False),
            "session": Provide(provide_session),
            "actor": Provide(provide_actor),
        },
        middleware=[RequestContextMiddleware(metrics)],
        before_send=[hub_time_hook(clock)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        logging_config=None,  # logs are configured once at the entry point, as JSON lines
        openapi_config=OpenAPIConfig(title="Prep hub", version="0.1.0", path="/schema"),
        request_max_body_size=settings.limits.max_json_bytes,
        debug=False,
    )
