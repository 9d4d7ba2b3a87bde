"""One-time enrolment tokens for edges, and the site each one enrols into.

``issue_token`` finds the site by its exact name or creates it, then stores a fresh token as its
SHA-256 only; the token itself is returned once, to be printed for the operator. A site created
here has no jurisdiction or time zone unless given: its edge reports them when it syncs.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.clock import epoch_ms
from hub.errors import Conflict, InvalidInput
from hub.tables import EnrollmentToken, Site
from hub.tokens import new_secret_token, token_hash
from sync.hlc import Stamp
from sync.ids import uuid7

HUB_ORIGIN = "hub"  # the node id in HLC stamps of changes made at the hub
MAX_SITE_NAME = 200
JURISDICTION = re.compile(r"[a-z][a-z0-9_]{1,63}")


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its hash is stored
    site_id: str
    expires_at: datetime


async def issue_token(
    session: AsyncSession,
    site_name: str,
    now: datetime,
    lifetime: timedelta,
    *,
    jurisdiction: str | None = None,
    timezone: str | None = None,
) -> IssuedToken:
    """A one-time token for the site named ``site_name`` (created if new)."""
    name = _site_name(site_name)
    site = await _find_or_create_site(session, name, jurisdiction, timezone, now)
    token = new_secret_token()
    expires_at = now + lifetime
    session.add(
        EnrollmentToken(
            id=str(uuid.uuid4()),
            token_hash=token_hash(token),
            site_id=site.id,
            site_name=site.name,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return IssuedToken(token, site.id, expires_at)


def _site_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_SITE_NAME or not name.isprintable():
        raise InvalidInput(f"a site name is 1 to {MAX_SITE_NAME} printable characters")
    return name


def _check_place(jurisdiction: str | None, timezone: str | None) -> None:
    if jurisdiction is not None and not JURISDICTION.fullmatch(jurisdiction):
        raise InvalidInput(f"not a jurisdiction id: {jurisdiction!r} (e.g. san_francisco)")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone: {timezone!r}") from None


async def _find_or_create_site(
    session: AsyncSession,
    name: str,
    jurisdiction: str | None,
    timezone: str | None,
    now: datetime,
) -> Site:
    _check_place(jurisdiction, timezone)
    # Two operators enrolling one new site at once must not create it twice.
    connection = await session.connection()
    await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
    sites = (await session.exec(select(Site).where(Site.name == name))).all()
    if len(sites) > 1:
        raise Conflict(f"{len(sites)} sites are named {name!r}; rename one first")
    if not sites:
        site = Site(
            id=str(uuid7(epoch_ms(now))),
            name=name,
            jurisdiction=jurisdiction,
            timezone=timezone,
            updated_hlc=Stamp(epoch_ms(now), 0, HUB_ORIGIN).encode(),
        )
        session.add(site)
        await session.flush()  # before the token that refers to it
        return site
    site = sites[0]
    for field, given in (("jurisdiction", jurisdiction), ("timezone", timezone)):
        known = getattr(site, field)
        if given is not None and known is not None and given != known:
            raise Conflict(f"site {name!r} already has {field} {known!r}, not {given!r}")
        if given is not None and known is None:
            setattr(site, field, given)
            session.add(site)
    return site
