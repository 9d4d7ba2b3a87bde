"""Liveness, readiness and the Prometheus metrics page (no authentication)."""

from __future__ import annotations

from typing import Any

from asyncpg import PostgresError
from litestar import MediaType, Response, get
from litestar.di import NamedDependency
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from hub.api.markers import Services
from hub.errors_http import error_response
from hub.migrate import HEAD_REVISION, current_revision
from hub.observability import Metrics

TAGS = ["operations"]


@get("/health/live", sync_to_thread=False, tags=TAGS)
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", tags=TAGS)
async def ready(services: Services) -> Response[dict[str, Any]]:
    """PostgreSQL answers and its schema is at this hub's migration head (503 otherwise)."""
    try:
        async with services.db.read() as session:
            revision = await current_revision(await session.connection())
    except (OSError, SQLAlchemyError, PostgresError):
        return error_response(503, "unavailable", "the database is not answering")
    if revision != HEAD_REVISION:
        return error_response(
            503,
            "schema_outdated",
            "the database schema is not at this hub's version (run prep-hub migrate)",
            {"schema_revision": revision, "expected": HEAD_REVISION},
        )
    body = {"status": "ok", "schema_revision": revision}
    return Response(body, status_code=200, media_type=MediaType.JSON)


@get("/metrics", tags=TAGS)
async def metrics_page(services: Services, metrics: NamedDependency[Metrics]) -> Response[bytes]:
    """Prometheus metrics."""
    await metrics.refresh(services)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


ROUTES: list[Any] = [live, ready, metrics_page]
