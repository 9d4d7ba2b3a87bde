"""The node's reference bundle: installed under ``DIR/refdb``, verified against the pinned key.

At start the bundle's signature and hash must check; an expired bundle still loads (a kitchen
must not stop checking renters in because the internet was down on renewal day) and the
expiry is reported by ``/health/ready`` and the sync status.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from edge.errors import SetupError
from edge.services import ReferenceData
from reference_db.builder import DEFAULT_SOURCES, build_bundle
from reference_db.bundle import verify_bundle
from reference_db.errors import RefDbError
from reference_db.manifest import manifest_path, read_manifest, signature_path
from reference_db.reader import open_rulebook
from reference_db.signing import generate_keypair, load_public_key, public_path

BUNDLE_NAME = "current.sqlite"
PINNED_KEY = "refdb.pub"  # the key of the bundle packaged at init
HUB_KEY = "hub-refdb.pub"  # the fleet's key, pinned at enrolment: bundles from the hub


def trusted_key_files(key_dir: Path) -> list[Path]:
    """The keys a bundle may be signed with here: the hub's (once enrolled), then init's."""
    return [path for path in (key_dir / HUB_KEY, key_dir / PINNED_KEY) if path.is_file()]


def bundle_path(refdb_dir: Path) -> Path:
    return refdb_dir / BUNDLE_NAME


def install_packaged_bundle(refdb_dir: Path, key_dir: Path, environ: dict[str, str]) -> int:
    """Build the packaged sources into a bundle signed by a one-off key, and pin that key.

    The private key is thrown away after signing: this node can verify its bundle but never
    sign one. Enrolment with a hub later pins the hub's key instead.
    """
    refdb_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bootstrap.key"
        generate_keypair(key)
        manifest = build_bundle(DEFAULT_SOURCES, bundle_path(refdb_dir), key, environ)
        shutil.copyfile(public_path(key), key_dir / PINNED_KEY)
    return manifest.version


def load_reference(refdb_dir: Path, key_dir: Path) -> ReferenceData:
    path = bundle_path(refdb_dir)
    problem: RefDbError | None = None
    for key_file in trusted_key_files(key_dir) or [key_dir / PINNED_KEY]:
        try:
            manifest = read_manifest(path)
            # Signature and hash must hold; expiry is reported, not fatal (module docstring).
            verify_bundle(path, load_public_key(key_file), manifest.valid_from_instant)
            rulebook = open_rulebook(path)
            break
        except RefDbError as exc:
            problem = exc
    else:
        raise SetupError(f"reference bundle at {path} is not usable: {problem}") from None
    return ReferenceData(
        rulebook=rulebook, version=manifest.version, expires_at=manifest.expires_at
    )


def bundle_files(refdb_dir: Path) -> list[Path]:
    path = bundle_path(refdb_dir)
    return [path, manifest_path(path), signature_path(path)]
