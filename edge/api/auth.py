"""Edge API: sign in, refresh, sign out and change one's own password (``/auth/...``)."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.params import JSONBody

from edge import auth_service
from edge.api.markers import CurrentActor, Services
from sync.shapes.auth import LoginRequest, PasswordChange, RefreshRequest, TokenPair

TAGS = ["auth"]


@post("/auth/login", status_code=200, tags=TAGS)
async def login(services: Services, data: JSONBody[LoginRequest]) -> TokenPair:
    """Sign in with a username and password (no bearer token needed)."""
    return await auth_service.login(services, data.username, data.password)


@post("/auth/refresh", status_code=200, tags=TAGS)
async def refresh(services: Services, data: JSONBody[RefreshRequest]) -> TokenPair:
    """Trade a refresh token for a new pair; each refresh token works once."""
    return await auth_service.refresh(services, data.refresh_token)


@post("/auth/logout", status_code=204, tags=TAGS)
async def logout(
    services: Services,
    actor: CurrentActor,
    data: JSONBody[RefreshRequest],
) -> None:
    """Revoke the presented refresh token and every token rotated from the same sign-in."""
    await auth_service.logout(services, actor, data.refresh_token)


@post("/auth/password", status_code=200, tags=TAGS)
async def change_password(
    services: Services,
    actor: CurrentActor,
    data: JSONBody[PasswordChange],
) -> TokenPair:
    """Change one's own password; other sessions are signed out, this one gets a new pair."""
    return await auth_service.change_own_password(
        services, actor, data.current_password, data.new_password
    )


ROUTES: list[Any] = [login, refresh, logout, change_password]
