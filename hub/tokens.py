"""Access tokens (short-lived JWT, HS256, issuer ``prep-hub``) and opaque refresh tokens.

Refresh tokens, enrolment tokens and other one-time secrets are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt

from hub.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "prep-hub"


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
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "iss"]},
        )
    except jwt.PyJWTError:
        raise Unauthorized("invalid access token") from None
    if int(claims["exp"]) <= int(now.timestamp()):
        raise Unauthorized("access token expired")
    return str(claims["sub"])


def new_secret_token() -> str:
    """A fresh opaque token (refresh or enrolment): 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of an opaque token."""
    return hashlib.sha256(token.encode()).hexdigest()
