"""Settings of one edge node: where its data lives, how it serves, its limits and its secrets.

Built once at the entry point (``EdgeSettings.load(data_dir)``) and passed to ``create_app``.
Values come from the environment (``PREP_EDGE_...``, nested with ``__``) or ``DIR/edge.toml``;
secrets come from the key files ``prep-edge init`` writes under ``DIR/keys`` (or the environment).
A missing, short or placeholder secret stops the process at start with a one-line reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretBytes, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.errors import SetupError

MIN_SECRET_BYTES = 32
_PLACEHOLDERS = (b"changeme", b"change-me", b"secret", b"password", b"example", b"xxxx", b"0000")


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=60, description="lifetime of an access token")
    refresh_token_days: int = Field(
        7, ge=1, le=30, description="lifetime of a refresh-token family"
    )
    login_failures_before_delay: int = Field(
        5, ge=1, description="failed logins before slowing down"
    )


class BookingSettings(BaseModel):
    hold_minutes: int = Field(15, ge=1, le=24 * 60, description="how long a hold keeps its slot")
    no_show_grace_minutes: int = Field(
        30, ge=0, description="after start, unchecked bookings become no-shows"
    )
    opens: str = Field("05:00", description="site opening time, local HH:MM")
    closes: str = Field(
        "23:59", description="site closing time, local HH:MM (at or before opens: after midnight)"
    )


class JobSettings(BaseModel):
    enabled: bool = Field(True, description="run the scheduler in the app lifespan")
    backup_hour: int = Field(3, ge=0, le=23, description="local hour of the nightly backup")
    backups_kept: int = Field(7, ge=1, description="nightly backups kept")
    reminder_days: tuple[int, ...] = Field(
        (30, 14, 3), description="document expiry reminders, days before"
    )


class LimitSettings(BaseModel):
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest document accepted")
    max_json_bytes: int = Field(1024 * 1024, ge=1024, description="largest JSON request body")


class SyncSettings(BaseModel):
    interval_seconds: float = Field(5.0, gt=0, description="time between sync rounds when online")
    max_backoff_seconds: float = Field(
        300.0, gt=0, description="longest wait between attempts while the hub is unreachable"
    )
    batch_changes: int = Field(2000, ge=1, le=5000, description="changes per push request")
    page_limit: int = Field(5000, ge=1, le=20000, description="changes per pull page")


class EdgeSettings(BaseSettings):
    """Everything a running edge needs; secrets are bytes and never printed."""

    model_config = SettingsConfigDict(
        env_prefix="PREP_EDGE_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(description="the node's data directory")
    host: str = Field("127.0.0.1", description="address to serve on")
    port: int = Field(8700, ge=1, le=65535, description="port to serve on")
    log_level: str = Field("INFO", description="log level of the JSON logs")
    jwt_secret: SecretBytes = Field(description="HMAC key for access tokens (keys/jwt.key)")
    pii_key: SecretBytes = Field(
        description="AES-256-GCM key for renter contact details (keys/pii.key)"
    )
    blind_index_key: SecretBytes = Field(description="HMAC key for searchable PII (keys/index.key)")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    bookings: BookingSettings = Field(default_factory=BookingSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)

    @field_validator("jwt_secret", "pii_key", "blind_index_key")
    @classmethod
    def _real_secret(cls, value: SecretBytes) -> SecretBytes:
        raw = value.get_secret_value()
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        typed = raw.isascii() and raw.decode("ascii").isprintable()  # a person wrote it
        if len(set(raw)) < 8 or (typed and any(p in raw.lower() for p in _PLACEHOLDERS)):
            raise ValueError("looks like a placeholder, not a generated secret")
        return value

    @property
    def database_path(self) -> Path:
        return self.data_dir / "edge.sqlite"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def refdb_dir(self) -> Path:
        return self.data_dir / "refdb"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @classmethod
    def load(cls, data_dir: Path, **overrides: Any) -> EdgeSettings:
        """Settings for ``data_dir``: its ``edge.toml``, its key files, the environment."""
        if not (data_dir / "edge.sqlite").exists() and "jwt_secret" not in overrides:
            raise SetupError(f"{data_dir} is not an initialised edge (run prep-edge init)")
        values: dict[str, Any] = {}
        toml = data_dir / "edge.toml"
        if toml.is_file():
            try:
                values.update(tomllib.loads(toml.read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SetupError(f"{toml}: {exc}") from None
        for name, filename in (
            ("jwt_secret", "jwt.key"),
            ("pii_key", "pii.key"),
            ("blind_index_key", "index.key"),
        ):
            path = data_dir / "keys" / filename
            if path.is_file():
                values[name] = path.read_bytes()
        values.update(overrides)
        try:
            return cls(data_dir=data_dir, **values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SetupError(f"setting {where}: {first['msg']}") from None
