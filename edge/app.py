"""``create_app(settings)``: the edge's Litestar application, collaborators injected.

The lifespan opens the database, the journal (clock and counters), the verified reference
bundle and the PII cipher, and puts them in one ``EdgeServices`` that every handler receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from edge.api import audit, auth, bookings, compliance, documents, health, site, sync_status
from edge.auth_deps import provide_actor
from edge.clock import Clock, SystemClock, epoch_ms
from edge.db import Database
from edge.errors_http import EXCEPTION_HANDLERS
from edge.journal import Journal
from edge.pii import PiiCipher
from edge.reference import load_reference
from edge.services import EdgeServices
from edge.settings import EdgeSettings

API_PREFIX = "/api/v1"


def create_app(settings: EdgeSettings, clock: Clock | None = None) -> Litestar:
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = Database(settings.database_path)
        journal = await Journal.open(db, lambda: epoch_ms(clock.now()))
        app.state.services = EdgeServices(
            settings=settings,
            clock=clock,
            db=db,
            journal=journal,
            pii=PiiCipher(
                settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
            ),
            reference=load_reference(settings.refdb_dir, settings.key_dir),
        )
        try:
            yield
        finally:
            await db.dispose()

    def provide_services(state: State) -> EdgeServices:
        services: EdgeServices = state.services
        return services

    api_routes: list[Any] = [
        *auth.ROUTES,
        *site.ROUTES,
        *bookings.ROUTES,
        *compliance.ROUTES,
        *documents.ROUTES,
        *audit.ROUTES,
        *sync_status.ROUTES,
    ]
    return Litestar(
        route_handlers=[*health.ROUTES, Router(API_PREFIX, route_handlers=api_routes)],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "actor": Provide(provide_actor),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="Prep edge", version="0.1.0", path="/schema"),
        request_max_body_size=settings.limits.max_upload_bytes + 64 * 1024,
        debug=False,
    )
