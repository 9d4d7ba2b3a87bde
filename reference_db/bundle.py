"""Checks a signed bundle before anyone trusts it, and opens it read-only.

``verify_bundle`` refuses, each with its own error: a manifest signed by another key, a bad
signature, a file whose hash is not the manifest's, a bundle past ``expires_at`` or before
``valid_from``, and a version not above the one already installed. "Now" is an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import sqlite3
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reference_db.errors import (
    BundleError,
    BundleExpired,
    HashMismatch,
    InputError,
    KeyMismatch,
    SignatureInvalid,
    VersionNotNewer,
)
from reference_db.manifest import Manifest, read_manifest, signature_path
from reference_db.signing import key_id, verify_signature
from reference_db.source_schema import TABLES

_CHUNK = 1 << 20


def verify_bundle(
    bundle: Path,
    public_key: Ed25519PublicKey,
    now: datetime,
    current_version: int | None = None,
) -> Manifest:
    """Return the manifest of a bundle that may be installed, or raise a ``BundleError``."""
    if now.tzinfo is None:
        raise InputError("now must be an aware instant")
    if not bundle.is_file():
        raise BundleError(f"no bundle at {bundle}")
    manifest = read_manifest(bundle)
    if manifest.key_id != key_id(public_key):
        raise KeyMismatch(f"signed by key {manifest.key_id}, expected {key_id(public_key)}")
    verify_signature(public_key, _read_signature(bundle), manifest.canonical_bytes())
    digest = file_sha256(bundle)
    if digest != manifest.sha256:
        raise HashMismatch(
            f"file hash {digest[:16]}… is not the manifest's {manifest.sha256[:16]}…"
        )
    if now >= manifest.expires:
        raise BundleExpired(f"expired at {manifest.expires_at}")
    if now < manifest.valid_from_instant:
        raise BundleExpired(f"not valid before {manifest.valid_from}")
    if current_version is not None and manifest.version <= current_version:
        raise VersionNotNewer(
            f"version {manifest.version} is not above the installed version {current_version}"
        )
    return manifest


def _read_signature(bundle: Path) -> bytes:
    path = signature_path(bundle)
    try:
        return base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except FileNotFoundError:
        raise SignatureInvalid(f"no signature beside the bundle ({path.name})") from None
    except (OSError, ValueError, binascii.Error):
        raise SignatureInvalid("signature file is not base64") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a bundle through a read-only, immutable URI."""
    if not path.is_file():
        raise InputError(f"no reference bundle at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        present = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as exc:
        raise BundleError(f"{path} is not a reference bundle: {exc}") from None
    missing = sorted(({"meta"} | {t.name for t in TABLES}) - present)
    if missing:
        conn.close()
        raise BundleError(f"{path} is not a reference bundle: no table {', '.join(missing[:3])}")
    return conn
