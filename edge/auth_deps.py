"""Who is asking: the bearer token's user, loaded from the database on every request.

Roles are checked against the server-side user, never against anything in the request body.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from edge.errors import Forbidden, Unauthorized
from edge.journal import Actor
from edge.services import EdgeServices
from edge.tokens import read_access_token
from sync.vocabulary import Role


async def provide_actor(
    request: Request[Any, Any, Any], services: NamedDependency[EdgeServices]
) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("sign in first: Authorization: Bearer <access token>")
    secret = services.settings.jwt_secret.get_secret_value()
    user_id = read_access_token(secret, token.strip(), services.clock.now())
    row = services.db.lookup(
        "SELECT username, role, active, must_change_password FROM user_account WHERE id = ?",
        (user_id,),
    )
    if row is None or not row[2]:
        raise Unauthorized("this account is no longer active")
    username, role, _, must_change = row
    if must_change and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise Forbidden("choose a new password first (POST /api/v1/auth/password)")
    return Actor(user_id, username, Role(role))


def require(actor: Actor, *roles: Role) -> None:
    """Refuse unless the signed-in user holds one of ``roles``."""
    if actor.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Forbidden(f"{actor.role} may not do this (needs {allowed})")


PASSWORD_CHANGE_PATHS = frozenset({"/api/v1/auth/password", "/api/v1/auth/logout"})
SITE_ROLES = (Role.ADMIN, Role.HOST, Role.STAFF)
MANAGER_ROLES = (Role.ADMIN, Role.HOST)
