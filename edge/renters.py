"""Renters (food businesses): create, read and find by email or phone; contact details encrypted.

Email and phone are stored only as AES-GCM ciphertext (``PiiCipher.seal``) with a keyed blind
index for exact lookup; plaintext never reaches the database, the audit log or the outbox (the
replicated state carries the ciphertexts base64-encoded). A renter-role user may read only the
renter its account is linked to.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlmodel import col, select

from edge.clock import epoch_ms
from edge.errors import Forbidden, InvalidInput, NotFound
from edge.journal import Actor
from edge.pii import PiiCipher
from edge.services import EdgeServices
from edge.tables import Renter, User
from sync.ids import uuid7
from sync.shapes.site import MAX_EMAIL, RENTER_PROFILE_FIELDS, RenterCreate, RenterOut
from sync.vocabulary import Role

CONTACT_COLUMNS = ("email", "phone")


def renter_out(renter: Renter, pii: PiiCipher) -> RenterOut:
    """The renter with its contact details decrypted."""
    return RenterOut.model_validate(
        {
            **renter.profile,
            "id": renter.id,
            "name": renter.name,
            "email": _open(pii, "email", renter.email_cipher),
            "phone": _open(pii, "phone", renter.phone_cipher),
            "created_at": renter.created_at,
        }
    )


def renter_state(renter: Renter) -> dict[str, Any]:
    """The replicated form of a renter: ciphertexts in base64, never plaintext."""
    return {
        "id": renter.id,
        "name": renter.name,
        "email_cipher": _b64(renter.email_cipher),
        "email_index": renter.email_index,
        "phone_cipher": _b64(renter.phone_cipher),
        "phone_index": renter.phone_index,
        "profile": renter.profile,
        "created_at": renter.created_at.isoformat(),
        "updated_hlc": renter.updated_hlc,
    }


async def create_renter(services: EdgeServices, actor: Actor, data: RenterCreate) -> RenterOut:
    now = services.clock.now()
    pii = services.pii
    renter = Renter(
        id=str(uuid7(epoch_ms(now))),
        name=data.name,
        profile=data.model_dump(mode="json", include=set(RENTER_PROFILE_FIELDS)),
        created_at=now,
        updated_hlc="",
    )
    for column in CONTACT_COLUMNS:
        value: str | None = getattr(data, column)
        if value:
            setattr(renter, f"{column}_cipher", pii.seal(column, value))
            setattr(renter, f"{column}_index", pii.index(column, value))
    async with services.journal.write(actor, now) as tx:
        renter.updated_hlc = tx.stamp()
        tx.session.add(renter)
        details = {"name": data.name, "contact": [c for c in CONTACT_COLUMNS if getattr(data, c)]}
        tx.record("renter.create", "renter", renter.id, details, state=renter_state(renter))
    return renter_out(renter, pii)


async def read_renter(services: EdgeServices, actor: Actor, renter_id: str) -> RenterOut:
    """One renter; a renter-role user only its own (``Forbidden`` otherwise)."""
    async with services.db.read() as session:
        if actor.role is Role.RENTER:
            user = await session.get(User, actor.user_id)
            if user is None or user.renter_id is None or user.renter_id != renter_id:
                raise Forbidden("a renter account may read only its own renter")
        renter = await session.get(Renter, renter_id)
    if renter is None:
        raise NotFound(f"no renter {renter_id}")
    return renter_out(renter, services.pii)


async def list_renters(
    services: EdgeServices,
    *,
    email: str | None = None,
    phone: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RenterOut]:
    """Renters by name; ``email`` or ``phone`` find exact matches by blind index."""
    query = select(Renter)
    if email is not None:
        if not email.strip() or len(email) > MAX_EMAIL:
            raise InvalidInput("email must be 1 to 254 characters", {"field": "email"})
        query = query.where(Renter.email_index == services.pii.index("email", email))
    if phone is not None:
        query = query.where(Renter.phone_index == services.pii.index("phone", phone))
    query = query.order_by(col(Renter.name), col(Renter.id)).offset(offset).limit(limit)
    async with services.db.read() as session:
        rows = (await session.exec(query)).all()
    return [renter_out(row, services.pii) for row in rows]


def _open(pii: PiiCipher, column: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else pii.open(column, sealed)


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")
