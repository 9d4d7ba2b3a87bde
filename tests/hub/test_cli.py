"""``prep-hub``: migrate, admin create, enroll-token and publish-refdb against a real database.

Commands run in-process with settings from the environment, as an operator's shell gives them.
Refusals are one line on standard error with exit status 2, never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from hub.cli import main
from hub.db import Database
from hub.migrate import HEAD_REVISION
from hub.passwords import verify_password
from hub.settings import HubSettings
from hub.tables import EnrollmentToken, HubUser, ReferenceBundle, Site
from hub.tokens import token_hash
from reference_db.builder import DEFAULT_SOURCES
from tests.reference_db.bundle_fixtures import build, copy_bundle, make_key

PASSWORD = "a long admin passphrase"


@dataclass(frozen=True)
class Result:
    code: int | str | None
    out: str
    err: str


@pytest.fixture
def hub_env(hub_settings: HubSettings, monkeypatch: pytest.MonkeyPatch) -> HubSettings:
    """The test hub's settings as ``PREP_HUB_*`` variables, and nothing else from the shell."""
    for name in list(os.environ):
        if name.startswith("PREP_HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", hub_settings.database_url)
    for name in ("JWT_SECRET", "PII_KEY", "BLIND_INDEX_KEY"):
        monkeypatch.setenv(f"PREP_HUB_{name}", secrets.token_hex(32))
    monkeypatch.setenv("PREP_HUB_DATA_DIR", str(hub_settings.data_dir))
    monkeypatch.setenv("PREP_HUB_REFDB_PUBLIC_KEY", str(hub_settings.refdb_public_key))
    return hub_settings


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> Result:
    """Run ``prep-hub`` in a worker thread (it starts its own event loop, as from a shell)."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(1) as pool:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code: int | str | None = pool.submit(main, list(argv)).result()
        except SystemExit as exc:
            code = exc.code
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def refused(result: Result, command: str) -> str:
    assert result.code == 2, result
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"prep-hub {command}: "), lines
    return lines[0]


# --- migrate ------------------------------------------------------------------------------------


def test_migrate_is_idempotent(hub_env: HubSettings, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        result = run(capsys, "migrate")
        assert result.code == 0, result.err
        assert result.out.strip() == f"database schema at revision {HEAD_REVISION}"


def test_migrate_needs_a_database_url(
    hub_env: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PREP_HUB_DATABASE_URL")
    assert "database_url" in refused(run(capsys, "migrate"), "migrate")
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:9/x")
    refused(run(capsys, "migrate"), "migrate")
    missing = make_url(hub_env.database_url).set(database="prep_hub_no_such_db")
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", missing.render_as_string(hide_password=False))
    assert "does not exist" in refused(run(capsys, "migrate"), "migrate")


def test_serve_refuses_a_placeholder_secret(
    hub_env: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PREP_HUB_JWT_SECRET", "changeme-changeme-changeme-changeme")
    assert "placeholder" in refused(run(capsys, "serve", "--port", "1"), "serve")


# --- admin create -------------------------------------------------------------------------------


async def test_admin_create_reads_the_password_from_stdin(
    hub_env: HubSettings, hub_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("admin", "create", "--email", "Root@Prep.test", "--password-stdin")
    result = run(capsys, *args, stdin=PASSWORD + "\n")
    assert result.code == 0, result.err
    assert result.out.startswith("created admin root@prep.test (")
    async with hub_db.read() as session:
        (user,) = (await session.exec(select(HubUser))).all()
    assert (user.email, user.role, user.site_id) == ("root@prep.test", "admin", None)
    assert verify_password(user.password_hash, PASSWORD)
    again = refused(run(capsys, *args, stdin=PASSWORD + "\n"), "admin create")
    assert "already exists" in again


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["--email", "a@prep.test"], PASSWORD, "--password-stdin"),
        (["--email", "a@prep.test", "--password-stdin"], "", "no password"),
        (["--email", "a@prep.test", "--password-stdin"], "short\n", "at least 8"),
        (["--email", "not-an-email", "--password-stdin"], PASSWORD, "email"),
    ],
)
def test_admin_create_refuses_bad_input(
    hub_env: HubSettings,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    expected: str,
) -> None:
    assert expected in refused(run(capsys, "admin", "create", *argv, stdin=stdin), "admin create")


# --- enroll-token -------------------------------------------------------------------------------


async def test_enroll_token_prints_only_the_token_and_stores_its_hash(
    hub_env: HubSettings, hub_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "enroll-token", "--site-name", "Mission Kitchen")
    assert result.code == 0, result.err
    token = result.out.strip()
    assert result.out == token + "\n" and len(token) >= 40
    place = ("--jurisdiction", "san_francisco", "--timezone", "America/Los_Angeles")
    second = run(capsys, "enroll-token", "--site-name", "Mission Kitchen", *place)
    assert second.code == 0 and second.out.strip() != token
    async with hub_db.read() as session:
        (site,) = (await session.exec(select(Site))).all()
        rows = (await session.exec(select(EnrollmentToken))).all()
    assert (site.name, site.jurisdiction, site.timezone) == (
        "Mission Kitchen", "san_francisco", "America/Los_Angeles"
    )  # fmt: skip
    assert {row.token_hash for row in rows} == {token_hash(token), token_hash(second.out.strip())}
    assert all(row.site_id == site.id and row.used_at is None for row in rows)
    assert all(row.expires_at - row.created_at == timedelta(hours=24) for row in rows)
    assert token not in json.dumps([row.model_dump(mode="json") for row in rows])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--site-name", "  "], "site name"),
        (["--site-name", "X", "--timezone", "Mars/Olympus"], "time zone"),
        (["--site-name", "X", "--jurisdiction", "San Francisco!"], "jurisdiction"),
    ],
)
def test_enroll_token_refuses_bad_input(
    hub_env: HubSettings, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    result = run(capsys, "enroll-token", *argv)
    assert result.out == ""
    assert expected in refused(result, "enroll-token")


# --- publish-refdb ------------------------------------------------------------------------------


def bundle_version(tmp_path: Path, key: Path, version: int) -> Path:
    """A bundle built from the packaged sources with ``version`` in its release."""
    where = Path(tempfile.mkdtemp(prefix=f"v{version}-", dir=tmp_path))
    sources = where / "sources"
    sources.mkdir()
    for source in DEFAULT_SOURCES.iterdir():
        if source.is_file():
            (sources / source.name).write_bytes(source.read_bytes())
    release = json.loads((sources / "release.json").read_text())
    (sources / "release.json").write_text(json.dumps({**release, "version": version}))
    return build(where / "prep-reference.sqlite", key, sources=sources)


async def published(db: Database) -> list[int]:
    async with db.read() as session:
        rows = (await session.exec(select(ReferenceBundle))).all()
    return sorted(row.version for row in rows)


async def test_publish_refdb_stores_a_verified_bundle(
    hub_env: HubSettings,
    hub_db: Database,
    refdb_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = bundle_version(tmp_path, refdb_key, 3)
    result = run(capsys, "publish-refdb", str(bundle))
    assert result.code == 0, result.err
    assert result.out.startswith("published reference bundle version 3 ")
    async with hub_db.read() as session:
        (row,) = (await session.exec(select(ReferenceBundle))).all()
    stored = Path(row.path)
    assert stored.parent == hub_env.bundle_dir / "3" and stored.read_bytes() == bundle.read_bytes()
    assert row.manifest["version"] == 3 and row.sha256 == row.manifest["sha256"]
    assert row.signature and row.size_bytes == bundle.stat().st_size
    assert [p.name for p in hub_env.bundle_dir.iterdir()] == ["3"]  # no staging left behind


async def test_publish_refdb_refuses_a_tampered_bundle(
    hub_env: HubSettings,
    hub_db: Database,
    refdb_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = copy_bundle(bundle_version(tmp_path, refdb_key, 2), tmp_path / "tampered")
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    assert "hash" in refused(run(capsys, "publish-refdb", str(bundle)), "publish-refdb")
    manifest = bundle.with_name(bundle.name + ".manifest.json")
    (tmp_path / "forged").mkdir()
    forged = copy_bundle(bundle_version(tmp_path, refdb_key, 4), tmp_path / "forged")
    forged_manifest = json.loads(forged.with_name(forged.name + ".manifest.json").read_text())
    manifest.write_text(json.dumps({**forged_manifest, "version": 9}))
    assert "signature" in refused(run(capsys, "publish-refdb", str(bundle)), "publish-refdb")
    assert await published(hub_db) == []
    assert [p.name for p in hub_env.bundle_dir.iterdir()] == []


async def test_publish_refdb_refuses_a_rollback_or_a_repeat(
    hub_env: HubSettings,
    hub_db: Database,
    refdb_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "publish-refdb", str(bundle_version(tmp_path, refdb_key, 2))).code == 0
    for version in (1, 2):
        line = refused(
            run(capsys, "publish-refdb", str(bundle_version(tmp_path, refdb_key, version))),
            "publish-refdb",
        )
        assert "not above" in line
    assert run(capsys, "publish-refdb", str(bundle_version(tmp_path, refdb_key, 3))).code == 0
    assert await published(hub_db) == [2, 3]


async def test_publish_refdb_refuses_another_key_or_no_key(
    hub_env: HubSettings,
    hub_db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other, _ = make_key(tmp_path / "other.key")
    bundle = bundle_version(tmp_path, other, 5)
    assert "signed by key" in refused(run(capsys, "publish-refdb", str(bundle)), "publish-refdb")
    missing = refused(run(capsys, "publish-refdb", str(tmp_path / "none.sqlite")), "publish-refdb")
    assert "no bundle" in missing
    monkeypatch.delenv("PREP_HUB_REFDB_PUBLIC_KEY")
    assert "REFDB_PUBLIC_KEY" in refused(run(capsys, "publish-refdb", str(bundle)), "publish-refdb")
    assert await published(hub_db) == []
