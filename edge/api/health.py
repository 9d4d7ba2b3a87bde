"""Liveness, readiness and the Prometheus metrics page (no authentication)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import MediaType, Response, get
from sqlalchemy import text

from edge.api.markers import Services


@get("/health/live", sync_to_thread=False, tags=["operations"])
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", tags=["operations"])
async def ready(services: Services) -> Response[dict[str, Any]]:
    """The database answers and a verified reference bundle is loaded."""
    async with services.db.read() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    reference = services.reference
    expired = datetime.fromisoformat(reference.expires_at) <= services.clock.now()
    body = {
        "status": "ok",
        "reference_version": reference.version,
        "reference_expires_at": reference.expires_at,
        "reference_expired": expired,
    }
    return Response(body, status_code=200, media_type=MediaType.JSON)


ROUTES: list[Any] = [live, ready]
