"""Taking a newer reference bundle from the hub: downloaded, verified, swapped in atomically.

The hub only relays bundles; trust comes from the key pinned in ``keys/refdb.pub``. A bundle
is accepted only if its manifest names that key, the signature and SHA-256 hold, it is valid
now and its version is above the one in use; anything else raises ``BundleRejected`` and the
bundle in use stays. An offer at the version in use is no news (None).

The swap, crash-safe: the three files (``current.sqlite``, its manifest and signature) are
downloaded and verified in ``refdb/.incoming/``, the rule book is loaded from them, the files
in use are hard-linked as ``previous.*`` (kept for a manual rollback), a ``READY`` marker is
written, and each file is renamed over its namesake, then the folder is fsynced. A crash after
``READY`` is finished by ``finish_interrupted_swap`` (call it before loading the bundle at
start); one before it leaves the old bundle whole and the staging folder is dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.errors import EdgeError
from edge.journal import SYSTEM
from edge.reference import BUNDLE_NAME, bundle_files, load_reference, trusted_key_files
from edge.services import EdgeServices, ReferenceData
from reference_db.bundle import verify_bundle
from reference_db.errors import RefDbError
from reference_db.manifest import Manifest, manifest_path, signature_path
from reference_db.reader import open_rulebook
from reference_db.signing import load_public_key

if TYPE_CHECKING:  # the hub link (and httpx) load with the first sync round
    from edge.hub_link import HubLink

INCOMING = ".incoming"
READY = "READY"
PREVIOUS_NAME = "previous.sqlite"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


class BundleRejected(EdgeError):
    """The hub's bundle may not be installed (``details.reason``: why); the current one stays."""

    code = "bundle_rejected"


async def refresh_bundle(services: EdgeServices, link: HubLink) -> int | None:
    """Install the hub's newest bundle if it is newer; returns its version, or None."""
    refdb = services.settings.refdb_dir
    if await asyncio.to_thread(finish_interrupted_swap, refdb):
        services.reference = await asyncio.to_thread(
            load_reference, refdb, services.settings.key_dir
        )
    offer = await link.latest_bundle()
    if offer is None:
        return None
    current = services.reference.version
    version = _offered_version(offer)
    if version == current:
        return None
    if version < current:
        raise BundleRejected(
            f"the hub offers reference version {version}, below the version {current} in use; "
            "a rollback is refused",
            {"reason": "rollback", "offered": version, "current": current},
        )
    staging = await asyncio.to_thread(_fresh_staging, refdb)
    try:
        bundle = staging / bundle_files(refdb)[0].name
        await _download(link, version, bundle, offer)
        manifest, reference = await asyncio.to_thread(_verified, services, bundle, current)
        await asyncio.to_thread(_swap, refdb, staging)
    finally:
        await asyncio.to_thread(_drop_unfinished, staging)
    services.reference = reference
    await _record(services, manifest, current)
    return manifest.version


def finish_interrupted_swap(refdb_dir: Path) -> bool:
    """Complete a swap that was cut short after ``READY``; drop an unfinished staging folder.

    Returns True when files were moved into place (the bundle in use changed).
    """
    staging = refdb_dir / INCOMING
    if not staging.is_dir():
        return False
    finished = (staging / READY).is_file()
    if finished:
        _move_into_place(refdb_dir, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return finished


def _drop_unfinished(staging: Path) -> None:
    """Remove the staging folder unless a swap from it began (``finish_interrupted_swap``)."""
    if not (staging / READY).is_file():
        shutil.rmtree(staging, ignore_errors=True)


def _offered_version(offer: dict[str, Any]) -> int:
    version = offer.get("version")
    manifest, signature = offer.get("manifest"), offer.get("signature")
    if (
        not isinstance(version, int)
        or not isinstance(manifest, dict)
        or manifest.get("version") != version
        or not isinstance(signature, str)
    ):
        raise BundleRejected("the hub's bundle offer is malformed", {"reason": "bad_offer"})
    return version


def _fresh_staging(refdb_dir: Path) -> Path:
    staging = refdb_dir / INCOMING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    return staging


async def _download(link: HubLink, version: int, bundle: Path, offer: dict[str, Any]) -> None:
    """The offered file, manifest and signature beside one another in the staging folder."""
    size = offer["manifest"].get("size_bytes")
    limit = size if isinstance(size, int) and 0 < size <= MAX_BUNDLE_BYTES else MAX_BUNDLE_BYTES
    with bundle.open("xb") as out:
        await link.fetch_bundle(version, out, limit)  # a longer file fails the hash check
        out.flush()
        os.fsync(out.fileno())
    manifest_text = json.dumps(offer["manifest"], indent=2, sort_keys=True) + "\n"
    _write_synced(manifest_path(bundle), manifest_text)
    _write_synced(signature_path(bundle), offer["signature"].strip() + "\n")


def _verified(services: EdgeServices, bundle: Path, current: int) -> tuple[Manifest, ReferenceData]:
    """Verify against the pinned key and load the rule book, or ``BundleRejected``."""
    try:
        key = load_public_key(trusted_key_files(services.settings.key_dir)[0])
        manifest = verify_bundle(bundle, key, services.clock.now(), current)
        rulebook = open_rulebook(bundle)
    except RefDbError as exc:
        raise BundleRejected(
            f"reference bundle from the hub refused: {exc}", {"reason": exc.code}
        ) from None
    except IndexError:
        raise BundleRejected(
            "no reference key is pinned on this node", {"reason": "key_mismatch"}
        ) from None
    return manifest, ReferenceData(rulebook, manifest.version, manifest.expires_at)


def _swap(refdb_dir: Path, staging: Path) -> None:
    for path in bundle_files(refdb_dir):
        if path.is_file():
            _keep_previous(path)
    _write_synced(staging / READY, "")
    _fsync_dir(staging)
    _move_into_place(refdb_dir, staging)
    shutil.rmtree(staging, ignore_errors=True)


def _keep_previous(path: Path) -> None:
    """Hard-link the file in use as ``previous.*`` (a copy where links are not supported)."""
    previous = path.with_name(path.name.replace(BUNDLE_NAME, PREVIOUS_NAME, 1))
    temp = path.with_name(f".{previous.name}.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(path, temp)
    except OSError:
        shutil.copyfile(path, temp)
    os.replace(temp, previous)


def _move_into_place(refdb_dir: Path, staging: Path) -> None:
    for target in bundle_files(refdb_dir):
        source = staging / target.name
        if source.is_file():  # already moved when finishing an interrupted swap
            os.replace(source, target)
    _fsync_dir(refdb_dir)


async def _record(services: EdgeServices, manifest: Manifest, previous: int) -> None:
    """The version in use in ``node_state``, and an audit event of the change."""
    details = {
        "version": manifest.version,
        "previous_version": previous,
        "bundle_id": manifest.bundle_id,
        "sha256": manifest.sha256,
        "expires_at": manifest.expires_at,
    }
    async with services.journal.write(SYSTEM, services.clock.now()) as tx:
        tx.raw.execute(
            "UPDATE node_state SET reference_version = ? WHERE id = 1", (manifest.version,)
        )
        tx.record("reference.install", "reference_bundle", str(manifest.version), details)


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
