"""Settings of the hub process: its database, secrets, storage, limits and where it serves.

Built once at the entry point (``HubSettings.load()``) and passed to ``create_app``. Values come,
highest first, from keyword overrides, the environment (``PREP_HUB_...``, nested groups with
``__``, e.g. ``PREP_HUB_LIMITS__PUSH_MAX_CHANGES``) and an optional TOML file named by
``config_file`` (``PREP_HUB_CONFIG_FILE`` or ``prep-hub --config``). A missing database URL or a
missing, short or placeholder secret stops the process at start with a one-line reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field, SecretBytes, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hub.errors import SetupError

MIN_SECRET_BYTES = 32
MIB = 1024 * 1024
DATABASE_SCHEME = "postgresql+asyncpg://"
_PLACEHOLDERS = (b"changeme", b"change-me", b"secret", b"password", b"example", b"xxxx", b"0000")


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=60, description="lifetime of an access token")
    refresh_token_days: int = Field(
        7, ge=1, le=30, description="lifetime of a refresh-token family"
    )


class EnrollmentSettings(BaseModel):
    token_hours: int = Field(24, ge=1, le=24 * 7, description="lifetime of an enrolment token")


class LimitSettings(BaseModel):
    max_json_bytes: int = Field(1 * MIB, ge=1024, description="largest JSON body on /api/v1")
    push_max_changes: int = Field(5000, ge=1, description="most changes in one push")
    push_max_raw_bytes: int = Field(16 * MIB, ge=1024, description="largest push body, in bytes")
    max_inflight_pushes: int = Field(8, ge=1, description="pushes applied at once per hub process")
    clock_skew_ms: int = Field(
        300_000, ge=0, description="refuse changes stamped further ahead of the hub's clock"
    )
    nonce_ttl_s: int = Field(
        600, ge=1, description="how long a signed request's nonce is remembered (replay ledger)"
    )


class DatabaseSettings(BaseSettings):
    """Enough to reach the database: all ``prep-hub migrate`` needs (a migration job holds no
    application secrets). Every other command and the app read the full ``HubSettings``."""

    model_config = SettingsConfigDict(
        env_prefix="PREP_HUB_", env_nested_delimiter="__", extra="ignore"
    )

    config_file: Path | None = Field(None, description="TOML file read below the environment")
    database_url: str = Field(
        repr=False, description="PostgreSQL URL for asyncpg: postgresql+asyncpg://user@host/db"
    )
    db_pool_size: int = Field(10, ge=1, le=200, description="connections kept per hub process")

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        if not value.startswith(DATABASE_SCHEME):
            raise ValueError(f"must start with {DATABASE_SCHEME}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlFile(settings_cls)

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Settings from ``overrides``, the environment and the TOML file; one-line refusals."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            raise SetupError(f"setting {where}: {first['msg']}") from None


class HubSettings(DatabaseSettings):
    """Everything a running hub needs; secrets are bytes and never printed."""

    host: str = Field("127.0.0.1", description="address to serve on")
    port: int = Field(8800, ge=1, le=65535, description="port to serve on")
    log_level: str = Field("INFO", description="log level of the JSON logs")
    data_dir: Path = Field(Path("hub-data"), description="where blobs and bundles are stored")
    jwt_secret: SecretBytes = Field(description="HMAC key for access tokens")
    pii_key: SecretBytes = Field(description="AES-256-GCM key for renter contact details")
    blind_index_key: SecretBytes = Field(description="HMAC key for searchable PII")
    refdb_public_key: str | None = Field(
        None, description="Ed25519 key that signs reference bundles: a PEM file path or PEM text"
    )
    auth: AuthSettings = Field(default_factory=AuthSettings)
    enrollment: EnrollmentSettings = Field(default_factory=EnrollmentSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)

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
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def bundle_dir(self) -> Path:
        return self.data_dir / "bundles"

    def refdb_key(self) -> Ed25519PublicKey:
        """The pinned reference-bundle key; ``SetupError`` if unset or unreadable."""
        if not self.refdb_public_key:
            raise SetupError("no reference key: set PREP_HUB_REFDB_PUBLIC_KEY (PEM file or text)")
        text = self.refdb_public_key.strip()
        try:
            pem = text.encode() if text.startswith("-----BEGIN") else Path(text).read_bytes()
            key = serialization.load_pem_public_key(pem)
        except (OSError, ValueError) as exc:
            raise SetupError(f"refdb_public_key: cannot read the key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SetupError("refdb_public_key: not an Ed25519 public key")
        return key


class _TomlFile(PydanticBaseSettingsSource):
    """The TOML file named by ``config_file`` in the sources above it (init or environment)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: ``__call__`` returns the whole file

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get("config_file")
        if not path:
            return {}
        try:
            values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SetupError(f"{path}: {exc}") from None
        return {name: value for name, value in values.items() if name != "config_file"}
