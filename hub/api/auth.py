"""Hub API: sign in, refresh and sign out (``/auth/...``)."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.params import JSONBody

from hub import auth_service
from hub.api.markers import CurrentActor, Services, Session
from hub.shapes import LoginRequest
from sync.shapes.auth import RefreshRequest, TokenPair

TAGS = ["auth"]


@post("/auth/login", status_code=200, tags=TAGS)
async def login(services: Services, session: Session, data: JSONBody[LoginRequest]) -> TokenPair:
    """Sign in with an email (as ``username`` or ``email``) and a password; no token needed."""
    now = services.clock.now()
    return await auth_service.login(session, services.settings, now, data.login, data.password)


@post("/auth/refresh", status_code=200, tags=TAGS)
async def refresh(
    services: Services, session: Session, data: JSONBody[RefreshRequest]
) -> TokenPair:
    """Trade a refresh token for a new pair; each refresh token works once."""
    now = services.clock.now()
    return await auth_service.refresh(session, services.settings, now, data.refresh_token)


@post("/auth/logout", status_code=204, tags=TAGS)
async def logout(
    services: Services, session: Session, actor: CurrentActor, data: JSONBody[RefreshRequest]
) -> None:
    """Revoke the presented refresh token and every token rotated from the same sign-in."""
    await auth_service.logout(session, actor, services.clock.now(), data.refresh_token)


ROUTES: list[Any] = [login, refresh, logout]
