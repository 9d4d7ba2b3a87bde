"""Local user accounts: creation with validated usernames and passwords, and password changes.

Argon2 hashing is slow on purpose, so it runs in a worker thread and outside the write
transaction (the single writer is never held while a hash is computed). The hash never leaves
the ``user_account`` table: audit details and the outbox carry only the username and role.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.clock import epoch_ms
from edge.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from edge.journal import SYSTEM, Actor
from edge.passwords import hash_password, verify_password
from edge.services import EdgeServices
from edge.tables import RefreshToken, Renter, User
from sync.ids import uuid7
from sync.vocabulary import Role

USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
MIN_PASSWORD = 8
MIN_PIN = 6
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps one request from costing much


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed, lower-cased, ``[a-z0-9._-]{1,64}``."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise InvalidInput(
            "a username is 1 to 64 characters of a-z, 0-9, '.', '_' or '-'",
            {"field": "username"},
        )
    return name


def check_password(password: str, role: Role) -> None:
    """Refuse a password shorter than 8 characters (staff may use a PIN of 6+ digits)."""
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password is at most {MAX_PASSWORD} characters")
    is_pin = password.isascii() and password.isdigit() and len(password) >= MIN_PIN
    if role is Role.STAFF and is_pin:
        return
    if len(password) < MIN_PASSWORD:
        hint = f" (or a PIN of {MIN_PIN}+ digits)" if role is Role.STAFF else ""
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD} characters{hint}", {"field": "password"}
        )


async def find_user(services: EdgeServices, username: str) -> User | None:
    async with services.db.read() as session:
        return (await session.exec(select(User).where(User.username == username))).first()


async def create_user(
    services: EdgeServices,
    username: str,
    role: Role,
    password: str,
    *,
    renter_id: str | None = None,
    exist_ok: bool = False,
    actor: Actor = SYSTEM,
) -> User:
    """Add a local user; ``Conflict`` if the username is taken (unless ``exist_ok``)."""
    role = Role(role)
    name = normalise_username(username)
    if renter_id is not None and role is not Role.RENTER:
        raise InvalidInput("only a renter account can be linked to a renter")
    existing = await find_user(services, name)
    if existing is not None:
        if exist_ok:
            return existing
        raise Conflict(f"the username {name!r} is taken")
    check_password(password, role)
    password_hash = await asyncio.to_thread(hash_password, password)
    now = services.clock.now()
    user = User(
        id=str(uuid7(epoch_ms(now))),
        username=name,
        role=role.value,
        password_hash=password_hash,
        renter_id=renter_id,
        created_at=now,
    )
    try:
        async with services.journal.write(actor, now) as tx:
            if renter_id is not None and await tx.session.get(Renter, renter_id) is None:
                raise NotFound(f"no renter {renter_id}")
            tx.session.add(user)
            await tx.session.flush()
            tx.record("user.create", "user", user.id, {"username": name, "role": role.value})
    except IntegrityError:  # taken between the check and the insert
        raise Conflict(f"the username {name!r} is taken") from None
    return user


async def change_password(
    services: EdgeServices, user_id: str, current: str, new: str, *, actor: Actor | None = None
) -> User:
    """Set a new password after checking the current one; signs out every other session.

    All of the user's refresh tokens are revoked, so a stolen one stops working.
    """
    async with services.db.read() as session:
        user = await session.get(User, user_id)
    stored = user.password_hash if user is not None and user.active else None
    if not await asyncio.to_thread(verify_password, stored, current) or user is None:
        raise Unauthorized("the current password is wrong")
    check_password(new, Role(user.role))
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    password_hash = await asyncio.to_thread(hash_password, new)
    now = services.clock.now()
    who = actor or Actor(user.id, user.username, Role(user.role))
    async with services.journal.write(who, now) as tx:
        fresh = await tx.session.get(User, user_id)
        if fresh is None:
            raise NotFound(f"no user {user_id}")
        fresh.password_hash = password_hash
        fresh.must_change_password = False
        tx.session.add(fresh)
        await tx.session.exec(
            update(RefreshToken)
            .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        tx.record("user.password_change", "user", user_id, {"username": fresh.username})
    return fresh


async def renter_scope(session: AsyncSession, actor: Actor) -> str | None:
    """The renter a renter-role user acts for; None for site and central roles."""
    if actor.role is not Role.RENTER:
        return None
    user = await session.get(User, actor.user_id)
    if user is None or user.renter_id is None:
        raise Forbidden("this renter account is not linked to a renter")
    return user.renter_id
