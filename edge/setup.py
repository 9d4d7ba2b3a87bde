"""``prep-edge init``: a new node's data directory, keys, schema, reference bundle and first host.

Everything is created under ``DIR`` with owner-only permissions; an existing database is never
touched (initialising twice is refused). The first host's password is random, printed once,
and must be changed at first sign-in.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.clock import epoch_ms
from edge.db import Database
from edge.errors import InvalidInput, SetupError
from edge.journal import GENESIS_HASH, SYSTEM, Journal
from edge.migrate import upgrade
from edge.passwords import hash_password, one_time_password
from edge.reference import install_packaged_bundle, load_reference
from edge.tables import NodeState, Site, User
from reference_db.errors import UnknownJurisdiction
from reference_db.signing import generate_keypair
from sync.hlc import Stamp
from sync.ids import uuid7
from sync.vocabulary import Role

SECRET_FILES = ("jwt.key", "pii.key", "index.key")
FIRST_HOST = "host"


@dataclass(frozen=True)
class InitResult:
    node_id: str
    site_id: str
    username: str
    password: str


def initialise(
    data_dir: Path,
    site_name: str,
    jurisdiction: str,
    timezone: str,
    now: datetime,
    environ: dict[str, str],
) -> InitResult:
    """Create a node in ``data_dir``; refuses a directory that already holds one."""
    _check_inputs(site_name, timezone)
    if (data_dir / "edge.sqlite").exists():
        raise SetupError(f"{data_dir} already holds an edge database; refusing to overwrite it")
    key_dir = data_dir / "keys"
    for folder in (data_dir, key_dir, data_dir / "blobs", data_dir / "backups"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in SECRET_FILES:
        _write_secret(key_dir / name)
    if not (key_dir / "node.key").exists():
        generate_keypair(key_dir / "node.key")
    version = install_packaged_bundle(data_dir / "refdb", key_dir, environ)
    rules = load_reference(data_dir / "refdb", key_dir).rulebook
    try:
        canonical = rules.resolve(jurisdiction).id
    except UnknownJurisdiction:
        raise InvalidInput(f"unknown jurisdiction {jurisdiction!r}") from None
    upgrade(data_dir / "edge.sqlite")
    return asyncio.run(_first_rows(data_dir, site_name.strip(), canonical, timezone, now, version))


def _check_inputs(site_name: str, timezone: str) -> None:
    if not site_name.strip() or len(site_name) > 200:
        raise InvalidInput("the site name must be 1 to 200 characters")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {timezone!r} (want an IANA name)") from None


def _write_secret(path: Path) -> None:
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))


async def _first_rows(
    data_dir: Path, site_name: str, jurisdiction: str, timezone: str, now: datetime, version: int
) -> InitResult:
    db = Database(data_dir / "edge.sqlite")
    node_id, site_id = str(uuid.uuid4()), str(uuid7(epoch_ms(now)))
    password = one_time_password()
    try:
        async with db.write() as session:
            session.add(
                NodeState(
                    node_id=node_id,
                    site_id=site_id,
                    hlc_last=Stamp(0, 0, node_id).encode(),
                    audit_hash=GENESIS_HASH,
                    reference_version=version,
                    created_at=now,
                )
            )
        journal = await Journal.open(db, lambda: epoch_ms(now))
        async with journal.write(SYSTEM, now) as tx:
            site = Site(
                id=site_id,
                name=site_name,
                jurisdiction=jurisdiction,
                timezone=timezone,
                profile={},
                updated_at=now,
                updated_hlc=tx.stamp(),
            )
            tx.session.add(site)
            tx.record(
                "site.create",
                "site",
                site_id,
                {"name": site_name, "jurisdiction": jurisdiction},
                state=site.model_dump(mode="json"),
            )
            user = User(
                id=str(uuid7(epoch_ms(now))),
                username=FIRST_HOST,
                role=Role.HOST.value,
                password_hash=hash_password(password),
                must_change_password=True,
                created_at=now,
            )
            tx.session.add(user)
            tx.record("user.create", "user", user.id, {"username": FIRST_HOST, "role": "host"})
    finally:
        await db.dispose()
    return InitResult(node_id, site_id, FIRST_HOST, password)
