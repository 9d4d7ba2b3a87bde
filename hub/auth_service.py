"""Sign-in, token refresh with rotation and reuse detection, and sign-out for central accounts.

A login starts a refresh-token *family* that lives ``auth.refresh_token_days``; each refresh
spends its token and issues the next one in the family. Presenting a spent token means two
parties hold the chain, so the whole family is revoked (and that revocation is committed even
though the request is refused). Wrong password and unknown user answer the same 401 at the same
cost (Argon2 runs either way, in a worker thread).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import InvalidInput, Unauthorized
from hub.passwords import verify_password
from hub.settings import HubSettings
from hub.tables import HubUser, RefreshToken
from hub.tokens import issue_access_token, new_secret_token, token_hash
from hub.users import Actor, find_user, normalise_email
from sync.shapes.auth import TokenPair

BAD_LOGIN = "wrong email or password"


async def login(
    session: AsyncSession, settings: HubSettings, now: datetime, email: str, password: str
) -> TokenPair:
    """A new token pair for valid credentials; ``Unauthorized`` otherwise (one message)."""
    try:
        user = await find_user(session, normalise_email(email))
    except InvalidInput:
        user = None
    usable = user if user is not None and user.disabled_at is None else None
    stored = usable.password_hash if usable is not None else None
    if not await asyncio.to_thread(verify_password, stored, password) or usable is None:
        raise Unauthorized(BAD_LOGIN)
    expires_at = now + timedelta(days=settings.auth.refresh_token_days)
    refresh_token = _issue_refresh(session, usable.id, str(uuid.uuid4()), now, expires_at)
    return _pair(settings, usable.id, refresh_token, now)


async def refresh(
    session: AsyncSession, settings: HubSettings, now: datetime, token: str
) -> TokenPair:
    """Spend ``token`` for a new pair; a spent token revokes its family and answers 401."""
    row = await _token_row(session, token, lock=True)
    user = await session.get(HubUser, row.user_id) if row is not None else None
    if row is None or user is None or user.disabled_at is not None:
        raise Unauthorized("the refresh token is not valid")
    if row.revoked_at is not None:
        raise Unauthorized("the refresh token has been revoked; sign in again")
    if row.expires_at <= now:
        raise Unauthorized("the refresh token has expired; sign in again")
    if row.used_at is not None:
        await _revoke_family(session, row.family_id, now)
        await session.commit()  # the revocation stands although this request is refused
        raise Unauthorized("the refresh token was already used; every session of it is revoked")
    row.used_at = now
    session.add(row)
    new = _issue_refresh(session, user.id, row.family_id, now, row.expires_at)
    return _pair(settings, user.id, new, now)


async def logout(session: AsyncSession, actor: Actor, now: datetime, token: str) -> None:
    """Revoke the family of the signed-in user's ``token`` (idempotent)."""
    row = await _token_row(session, token, lock=False)
    if row is None or row.user_id != actor.user_id:
        raise Unauthorized("the refresh token is not valid")
    await _revoke_family(session, row.family_id, now)


def _issue_refresh(
    session: AsyncSession, user_id: str, family_id: str, now: datetime, expires_at: datetime
) -> str:
    token = new_secret_token()
    session.add(
        RefreshToken(
            id=str(uuid.uuid4()),
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash(token),
            issued_at=now,
            expires_at=expires_at,
        )
    )
    return token


def _pair(settings: HubSettings, user_id: str, refresh_token: str, now: datetime) -> TokenPair:
    lifetime = timedelta(minutes=settings.auth.access_token_minutes)
    secret = settings.jwt_secret.get_secret_value()
    return TokenPair(
        access_token=issue_access_token(secret, user_id, now, lifetime),
        refresh_token=refresh_token,
        expires_in=int(lifetime.total_seconds()),
    )


async def _token_row(session: AsyncSession, token: str, *, lock: bool) -> RefreshToken | None:
    """The stored token; ``lock`` holds its row so two refreshes of one token take turns."""
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash(token))
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
