"""Request and response shapes of the hub's central API that ``sync.shapes`` does not define."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync.shapes.auth import MAX_PASSWORD

MAX_EMAIL = 254


class LoginRequest(BaseModel):
    """Credentials: the email as ``username`` (as on the edge) or as ``email``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = Field(None, min_length=1, max_length=MAX_EMAIL)
    email: str | None = Field(None, min_length=1, max_length=MAX_EMAIL)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)

    @model_validator(mode="after")
    def _one_login_name(self) -> LoginRequest:
        if (self.username is None) == (self.email is None):
            raise ValueError("give the email as either username or email")
        return self

    @property
    def login(self) -> str:
        return self.email or self.username or ""


class NodeHealth(BaseModel):
    """One enrolled edge as the fleet view shows it; what a node never reported is null.

    ``lag_s`` is the age of the oldest change the node reported as still unsent (0 when it
    reported an empty outbox); ``last_seen_age_s`` is the time since its last signed request.
    """

    id: str
    name: str
    site_id: str
    site_name: str
    enrolled_at: datetime
    revoked: bool
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_seen_age_s: float | None
    high_water: int
    reported_outbox_depth: int | None
    reported_oldest_unsent_at: datetime | None
    lag_s: float | None
    clock_offset_ms: int | None
    audit_gap_after: int | None
    open_conflicts: int
