"""Central accounts: who is signed in (``Actor``), role checks, and creating a user.

Emails are the login names, stored trimmed and lower-cased. Argon2 hashing is slow on purpose,
so it runs in a worker thread before the transaction touches the database.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hub.passwords import hash_password
from hub.tables import HubUser, Site
from sync.vocabulary import Role

_CONTROL = r"\x00-\x1f\x7f"  # never in an address (and PostgreSQL text refuses NUL)
EMAIL = re.compile(rf"[^@\s{_CONTROL}]{{1,64}}@[^@\s.{_CONTROL}]+(\.[^@\s.{_CONTROL}]+)+")
MAX_EMAIL = 254
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps one request from costing much
CENTRAL_ROLES = (Role.ADMIN, Role.SUPPORT)
SITE_ROLES = (Role.HOST, Role.STAFF)


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the database knows it (never as the request claims)."""

    user_id: str
    email: str
    role: Role
    site_id: str | None


def require(actor: Actor, *roles: Role) -> None:
    """Refuse unless the signed-in user holds one of ``roles``."""
    if actor.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Forbidden(f"{actor.role} may not do this (needs {allowed})")


def normalise_email(email: str) -> str:
    """The stored form of an email: trimmed and lower-cased; ``InvalidInput`` if malformed."""
    value = email.strip().lower()
    if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
        raise InvalidInput("not an email address", {"field": "email"})
    return value


def check_password(password: str) -> None:
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password is at most {MAX_PASSWORD} characters")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD} characters", {"field": "password"}
        )


async def load_actor(session: AsyncSession, user_id: str) -> Actor:
    """The active user ``user_id`` as an ``Actor``; ``Unauthorized`` if gone or disabled."""
    user = await session.get(HubUser, user_id)
    if user is None or user.disabled_at is not None:
        raise Unauthorized("this account is no longer active")
    return Actor(user.id, user.email, Role(user.role), user.site_id)


async def find_user(session: AsyncSession, email: str) -> HubUser | None:
    return (await session.exec(select(HubUser).where(HubUser.email == email))).first()


async def create_user(
    session: AsyncSession,
    email: str,
    role: Role,
    password: str,
    now: datetime,
    *,
    site_id: str | None = None,
) -> HubUser:
    """Add a central or site account; ``Conflict`` if the email is taken."""
    role = Role(role)
    address = normalise_email(email)
    check_password(password)
    if site_id is not None and role not in SITE_ROLES:
        raise InvalidInput("only host and staff accounts belong to a site")
    password_hash = await asyncio.to_thread(hash_password, password)
    if await find_user(session, address) is not None:
        raise Conflict(f"an account for {address} already exists")
    if site_id is not None and await session.get(Site, site_id) is None:
        raise NotFound(f"no site {site_id}")
    user = HubUser(
        id=str(uuid.uuid4()),
        email=address,
        password_hash=password_hash,
        role=role.value,
        site_id=site_id,
        created_at=now,
    )
    try:
        async with session.begin_nested():  # taken between the check and the insert
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"an account for {address} already exists") from None
    return user
