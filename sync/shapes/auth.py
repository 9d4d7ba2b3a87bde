"""Sign-in shapes of the edge API: credentials, refresh and logout requests, the token pair."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_USERNAME = 64
MAX_PASSWORD = 1024
MAX_TOKEN = 512


class AuthShape(BaseModel):
    """Base of the auth shapes: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(AuthShape):
    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class RefreshRequest(AuthShape):
    """A refresh token; each one works once (``POST /auth/refresh``, ``/auth/logout``)."""

    refresh_token: str = Field(min_length=1, max_length=MAX_TOKEN)


class PasswordChange(AuthShape):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class TokenPair(AuthShape):
    """What a sign-in or a refresh answers; ``expires_in`` is the access token's life in seconds."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret
    must_change_password: bool = False
