"""Access tokens (short-lived JWT, HS256) and refresh tokens (opaque, stored hashed, rotating)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt

from edge.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "prep-edge"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    expires_at: datetime


def issue_access_token(secret: bytes, user_id: str, now: datetime, lifetime: timedelta) -> str:
    claims = {
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "iss": ISSUER,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: bytes, token: str, now: datetime) -> str:
    """The user id of a valid token; expiry is checked against ``now``, not the wall clock."""
    user_id, expires = _verified_claims(secret, token)
    if expires <= int(now.timestamp()):
        raise Unauthorized("access token expired")
    return user_id


@lru_cache(maxsize=4096)
def _verified_claims(secret: bytes, token: str) -> tuple[str, int]:
    """Subject and expiry of a token whose signature and issuer check (cached: pure and hot).

    Only successes are cached; a refused token raises every time.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"verify_exp": False, "require": ["sub", "exp", "iss"]},
        )
    except jwt.PyJWTError:
        raise Unauthorized("invalid access token") from None
    return str(claims["sub"]), int(claims["exp"])


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
