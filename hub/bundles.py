"""Publishing signed reference bundles to the fleet (``prep-hub publish-refdb``).

The bundle, its manifest and its signature are first copied into a staging folder under
``settings.bundle_dir``; the *copy* is verified (pinned key, signature, hash, validity window,
version above the latest published), then renamed to ``bundle_dir/<version>/`` and recorded in
``reference_bundle``. So the bytes the hub serves are the bytes it checked. Publications take
turns under an advisory lock, so two of them cannot both claim the next version.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, InvalidInput
from hub.tables import ReferenceBundle
from reference_db.bundle import verify_bundle
from reference_db.errors import RefDbError, VersionNotNewer
from reference_db.manifest import Manifest, manifest_path, signature_path

PUBLISH_LOCK = 7_072_101_113  # pg_advisory_xact_lock key of publications
BUNDLE_NAME = "prep-reference.sqlite"


async def latest_version(session: AsyncSession) -> int | None:
    """The highest published bundle version, or None before the first."""
    version = (await session.exec(select(func.max(ReferenceBundle.version)))).one()
    return int(version) if version is not None else None


async def publish_bundle(
    session: AsyncSession, bundle: Path, key: Ed25519PublicKey, bundle_dir: Path, now: datetime
) -> ReferenceBundle:
    """Verify, store and record ``bundle``; ``InvalidInput`` or ``Conflict`` if refused."""
    connection = await session.connection()
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK})
    latest = await latest_version(session)
    stored, manifest = await asyncio.to_thread(
        _store_verified, bundle, key, bundle_dir, now, latest
    )
    row = ReferenceBundle(
        version=manifest.version,
        manifest=asdict(manifest),
        signature=signature_path(stored).read_text(encoding="ascii").strip(),
        sha256=manifest.sha256,
        size_bytes=manifest.size_bytes,
        path=str(stored),
        published_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def _store_verified(
    bundle: Path, key: Ed25519PublicKey, bundle_dir: Path, now: datetime, latest: int | None
) -> tuple[Path, Manifest]:
    """Copy the bundle's three files to staging, verify the copy, move it to ``<version>/``."""
    if not bundle.is_file():
        raise InvalidInput(f"no bundle at {bundle}")
    bundle_dir.mkdir(parents=True, exist_ok=True)
    staging = bundle_dir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        copy = staging / BUNDLE_NAME
        for source, target in (
            (bundle, copy),
            (manifest_path(bundle), manifest_path(copy)),
            (signature_path(bundle), signature_path(copy)),
        ):
            if source.is_file():  # a missing file is reported by the verification
                shutil.copyfile(source, target)
        manifest = _verify(copy, key, now, latest)
        final = bundle_dir / str(manifest.version)
        if final.exists():  # left by a publication whose transaction did not commit
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / BUNDLE_NAME, manifest


def _verify(copy: Path, key: Ed25519PublicKey, now: datetime, latest: int | None) -> Manifest:
    try:
        return verify_bundle(copy, key, now, latest)
    except VersionNotNewer as exc:
        raise Conflict(f"bundle refused: {exc}", {"reason": exc.code}) from None
    except RefDbError as exc:
        raise InvalidInput(f"bundle refused: {exc}", {"reason": exc.code}) from None
