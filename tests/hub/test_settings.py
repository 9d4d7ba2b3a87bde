"""Hub settings: refused when unsafe (one line), read from a TOML file below the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from hub.errors import SetupError
from hub.settings import MIB, DatabaseSettings, HubSettings
from reference_db.signing import generate_keypair, key_id, public_path

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/prep"
GOOD = secrets.token_hex(32)


@pytest.fixture(autouse=True)
def no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PREP_HUB_"):
            monkeypatch.delenv(name)


def valid(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "database_url": URL,
        "jwt_secret": GOOD,
        "pii_key": secrets.token_bytes(32),
        "blind_index_key": secrets.token_bytes(32),
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def refusal(**changes: Any) -> str:
    with pytest.raises(SetupError) as refused:
        HubSettings.load(**valid(**changes))
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_defaults_hold_the_documented_limits() -> None:
    settings = HubSettings.load(**valid())
    limits = settings.limits
    assert (limits.push_max_changes, limits.push_max_raw_bytes) == (5000, 16 * MIB)
    assert (limits.max_inflight_pushes, limits.clock_skew_ms, limits.nonce_ttl_s) == (
        8, 300_000, 600
    )  # fmt: skip
    assert settings.auth.access_token_minutes == 15 and settings.enrollment.token_hours == 24
    assert settings.bundle_dir == settings.data_dir / "bundles"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"database_url": None}, "setting database_url: Field required"),
        ({"database_url": "postgresql://x/y"}, "must start with postgresql+asyncpg://"),
        ({"jwt_secret": None}, "setting jwt_secret: Field required"),
        ({"jwt_secret": "short"}, "at least 32 bytes"),
        ({"pii_key": "changeme" * 5}, "placeholder"),
        ({"blind_index_key": "a" * 40}, "placeholder"),
    ],
)
def test_unsafe_or_missing_settings_are_refused_in_one_line(
    changes: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(**changes)


def test_secrets_and_the_database_url_are_never_printed() -> None:
    settings = HubSettings.load(**valid(database_url=URL.replace("postgres@", "me:pw123@")))
    shown = repr(settings) + str(settings)
    assert GOOD not in shown and "pw123" not in shown


def test_migrate_needs_only_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", URL)
    assert DatabaseSettings.load().database_url == URL


def test_a_toml_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'database_url = "{URL}"\njwt_secret = "{GOOD}"\nport = 9000\n'
        "[limits]\npush_max_changes = 100\nnonce_ttl_s = 60\n"
    )
    monkeypatch.setenv("PREP_HUB_CONFIG_FILE", str(config))
    monkeypatch.setenv("PREP_HUB_PORT", "9100")
    monkeypatch.setenv("PREP_HUB_LIMITS__PUSH_MAX_CHANGES", "200")
    keys = {"pii_key": secrets.token_bytes(32), "blind_index_key": secrets.token_bytes(32)}
    settings = HubSettings.load(**keys)
    assert settings.jwt_secret.get_secret_value() == GOOD.encode()
    assert settings.port == 9100
    assert settings.limits.push_max_changes == 200
    assert settings.limits.nonce_ttl_s == 60  # from the file: nested values merge


def test_an_unreadable_config_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("port = = 1")
    assert "bad.toml" in refusal(config_file=tmp_path / "bad.toml")
    assert "missing.toml" in refusal(config_file=tmp_path / "missing.toml")


def test_the_reference_key_is_a_path_or_pem_text(tmp_path: Path) -> None:
    expected = generate_keypair(tmp_path / "refdb.key")
    pem = public_path(tmp_path / "refdb.key")
    for given in (str(pem), pem.read_text()):
        key = HubSettings.load(**valid(refdb_public_key=given)).refdb_key()
        assert key_id(key) == expected
    with pytest.raises(SetupError, match="PREP_HUB_REFDB_PUBLIC_KEY"):
        HubSettings.load(**valid()).refdb_key()
    with pytest.raises(SetupError, match="cannot read"):
        HubSettings.load(**valid(refdb_public_key=str(tmp_path / "none.pub"))).refdb_key()
