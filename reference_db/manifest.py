"""The bundle manifest: what a signed reference bundle claims about itself.

The signature covers the manifest's canonical JSON (sorted keys, no spaces, UTF-8); the
manifest in turn pins the SQLite file by SHA-256. Files sit beside the bundle:
``BUNDLE.manifest.json`` and ``BUNDLE.sig`` (base64 signature).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reference_db.errors import BundleError

MANIFEST_SUFFIX = ".manifest.json"
SIGNATURE_SUFFIX = ".sig"


@dataclass(frozen=True)
class Manifest:
    bundle_id: str
    version: int
    sha256: str
    size_bytes: int
    built_at: str
    valid_from: str
    expires_at: str
    key_id: str
    format: int

    def canonical_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @property
    def expires(self) -> datetime:
        return datetime.fromisoformat(self.expires_at)

    @property
    def valid_from_instant(self) -> datetime:
        return datetime.fromisoformat(self.valid_from)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        try:
            manifest = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise BundleError(f"manifest is incomplete: {exc}") from None
        if not isinstance(manifest.version, int):
            raise BundleError("manifest version is not an integer")
        return manifest


def manifest_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + MANIFEST_SUFFIX)


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SIGNATURE_SUFFIX)


def read_manifest(bundle: Path) -> Manifest:
    path = manifest_path(bundle)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"no manifest beside the bundle ({path.name})") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"manifest is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise BundleError("manifest is not a JSON object")
    return Manifest.from_json(data)
