"""Access tokens (short-lived JWT, HS256) and refresh tokens (opaque, stored hashed, rotating)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    if int(claims["exp"]) <= int(now.timestamp()):
        raise Unauthorized("access token expired")
    return str(claims["sub"])


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
