"""Sign-in, token refresh with rotation and reuse detection, sign-out and own password changes.

A login starts a refresh-token *family* that lives ``auth.refresh_token_days``; each refresh
spends its token and issues the next one in the family. Presenting a spent token means two
parties hold the chain, so the whole family is revoked and the event audited. Wrong password
and unknown user answer the same 401 at the same cost (Argon2 runs either way, in a thread).
Failed sign-ins are audited under a keyed hash of the username; after
``auth.login_failures_before_delay`` consecutive failures the next attempt must wait, doubling
each time (429).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.clock import epoch_ms
from edge.errors import TooManyAttempts, Unauthorized
from edge.journal import SYSTEM, Actor, Tx
from edge.passwords import verify_password
from edge.services import EdgeServices
from edge.tables import AuditEvent, RefreshToken, User
from edge.tokens import issue_access_token, new_refresh_token, refresh_token_hash
from edge.users import USERNAME, change_password
from sync.ids import uuid7
from sync.shapes.auth import TokenPair
from sync.vocabulary import Role

BAD_LOGIN = "wrong username or password"
RECENT_EVENTS = 2000  # failures are looked for among the latest audit events only
FAILURE_WINDOW = timedelta(minutes=15)
MAX_DELAY_SECONDS = 300


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username, Role(user.role))


async def login(services: EdgeServices, username: str, password: str) -> TokenPair:
    """A new token pair for valid credentials; ``Unauthorized`` otherwise (one message)."""
    name = username.strip().lower()
    subject = services.pii.index("username", name)
    now = services.clock.now()
    await _check_throttle(services, subject, now)
    user = None
    if USERNAME.fullmatch(name):
        async with services.db.read() as session:
            user = (await session.exec(select(User).where(User.username == name))).first()
    usable = user if user is not None and user.active else None
    stored = usable.password_hash if usable is not None else None
    ok = await asyncio.to_thread(verify_password, stored, password)
    if not ok or usable is None:
        async with services.journal.write(SYSTEM, now) as tx:
            details = {"outcome": "failure", "subject": subject}
            if user is not None:  # a mistyped password in the username field is never kept
                details["username"] = user.username
            tx.record("auth.login", "user", user.id if user else "-", details)
        raise Unauthorized(BAD_LOGIN)
    async with services.journal.write(_actor(usable), now) as tx:
        refresh = _issue_refresh(tx, usable.id, _new_id(now), _family_expiry(services, now))
        details = {"outcome": "success", "subject": subject, "username": usable.username}
        tx.record("auth.login", "user", usable.id, details)
    return _pair(services, usable, refresh, now)


async def refresh(services: EdgeServices, token: str) -> TokenPair:
    """Spend ``token`` for a new pair; a spent token revokes its family and answers 401."""
    now = services.clock.now()
    async with services.db.read() as session:
        row = await _token_row(session, token)
        user = await session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        raise Unauthorized("the refresh token is not valid")
    reused, new = False, ""
    async with services.journal.write(_actor(user), now) as tx:
        current = await tx.session.get(RefreshToken, row.id)
        if current is None or current.revoked_at is not None:
            raise Unauthorized("the refresh token has been revoked; sign in again")
        if current.expires_at <= now:
            raise Unauthorized("the refresh token has expired; sign in again")
        if current.used_at is not None:
            reused = True
            await _revoke_family(tx, current.family_id)
            tx.record("auth.refresh_reuse", "user", user.id, {"family_id": current.family_id})
        else:
            current.used_at = now
            tx.session.add(current)
            new = _issue_refresh(tx, user.id, current.family_id, current.expires_at)
    if reused:
        raise Unauthorized("the refresh token was already used; every session of it is revoked")
    return _pair(services, user, new, now)


async def logout(services: EdgeServices, actor: Actor, token: str) -> None:
    """Revoke the family of the signed-in user's ``token`` (idempotent)."""
    now = services.clock.now()
    async with services.journal.write(actor, now) as tx:
        row = await _token_row(tx.session, token)
        if row is None or row.user_id != actor.user_id:
            raise Unauthorized("the refresh token is not valid")
        await _revoke_family(tx, row.family_id)
        tx.record("auth.logout", "user", actor.user_id, {"family_id": row.family_id})


async def change_own_password(
    services: EdgeServices, actor: Actor, current: str, new: str
) -> TokenPair:
    """Change the signed-in user's password; other sessions end, this one gets a new pair."""
    user = await change_password(services, actor.user_id, current, new, actor=actor)
    now = services.clock.now()
    async with services.db.write() as session:  # a local row only: nothing to audit twice
        token = new_refresh_token()
        session.add(_refresh_row(user.id, _new_id(now), token, now, _family_expiry(services, now)))
    return _pair(services, user, token, now)


def _new_id(now: datetime) -> str:
    return str(uuid7(epoch_ms(now)))


def _family_expiry(services: EdgeServices, now: datetime) -> datetime:
    return now + timedelta(days=services.settings.auth.refresh_token_days)


def _refresh_row(
    user_id: str, family_id: str, token: str, now: datetime, expires_at: datetime
) -> RefreshToken:
    return RefreshToken(
        id=_new_id(now),
        user_id=user_id,
        family_id=family_id,
        token_hash=refresh_token_hash(token),
        issued_at=now,
        expires_at=expires_at,
    )


def _issue_refresh(tx: Tx, user_id: str, family_id: str, expires_at: datetime) -> str:
    token = new_refresh_token()
    tx.session.add(_refresh_row(user_id, family_id, token, tx.now, expires_at))
    return token


def _pair(services: EdgeServices, user: User, refresh_token: str, now: datetime) -> TokenPair:
    lifetime = timedelta(minutes=services.settings.auth.access_token_minutes)
    secret = services.settings.jwt_secret.get_secret_value()
    return TokenPair(
        access_token=issue_access_token(secret, user.id, now, lifetime),
        refresh_token=refresh_token,
        expires_in=int(lifetime.total_seconds()),
        must_change_password=user.must_change_password,
    )


async def _token_row(session: AsyncSession, token: str) -> RefreshToken | None:
    query = select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(token))
    return (await session.exec(query)).first()


async def _revoke_family(tx: Tx, family_id: str) -> None:
    await tx.session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=tx.now)
    )


async def _check_throttle(services: EdgeServices, subject: str, now: datetime) -> None:
    """Refuse (429) while the back-off after repeated failures for ``subject`` runs."""
    failures, last = await _recent_failures(services, subject, now - FAILURE_WINDOW)
    excess = failures - services.settings.auth.login_failures_before_delay
    if last is None or excess < 0:
        return
    wait = timedelta(seconds=min(2**excess, MAX_DELAY_SECONDS))
    if now < last + wait:
        seconds = int((last + wait - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {seconds} s", {"retry_after": seconds}
        )


async def _recent_failures(
    services: EdgeServices, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """Consecutive failed sign-ins for ``subject`` since the last success, and the latest one."""
    async with services.db.read() as session:
        top = (await session.exec(select(func.max(AuditEvent.seq)))).one() or 0
        query = (
            select(AuditEvent)
            .where(
                col(AuditEvent.seq) > top - RECENT_EVENTS,
                AuditEvent.action == "auth.login",
                col(AuditEvent.at) >= since,
            )
            .order_by(col(AuditEvent.seq).desc())
        )
        events = (await session.exec(query)).all()
    failures, last = 0, None
    for event in events:
        if event.details.get("outcome") == "success" and event.details.get("subject") == subject:
            break
        if event.details.get("subject") == subject:
            failures += 1
            last = last or event.at
    return failures, last
