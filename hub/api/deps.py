"""Dependencies every handler may ask for: the request's session and the signed-in user.

``session`` is one transaction per request: it commits after the handler returns (before the
response is sent, so a failed commit is an error response, never a false success) and rolls
back if anything raised. ``actor`` is the bearer token's user, loaded from the database on every
request in a short read of its own (a refused caller never leaves a request transaction open);
roles are checked against it, never against anything in the request body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Unauthorized
from hub.services import HubServices
from hub.tokens import read_access_token
from hub.users import Actor, load_actor


async def provide_session(services: NamedDependency[HubServices]) -> AsyncIterator[AsyncSession]:
    async with services.db.write() as session:
        yield session


async def provide_actor(
    request: Request[Any, Any, Any], services: NamedDependency[HubServices]
) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("sign in first: Authorization: Bearer <access token>")
    secret = services.settings.jwt_secret.get_secret_value()
    user_id = read_access_token(secret, token.strip(), services.clock.now())
    async with services.db.read() as session:
        return await load_actor(session, user_id)
