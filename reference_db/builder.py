"""Builds the reference bundle: validated sources -> deterministic SQLite -> manifest -> signature.

Determinism: tables are created and filled in a fixed order, rows sorted by key, nothing
time-dependent is written except ``built_at``, which comes from ``SOURCE_DATE_EPOCH`` when set
and otherwise from the latest ``retrieved`` date in the sources. The same sources, key and
SQLite library therefore give a byte-identical bundle, manifest and signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reference_db.errors import InputError, SourceError
from reference_db.manifest import Manifest, manifest_path, signature_path
from reference_db.signing import key_id, load_private_key, sign
from reference_db.source_loader import LoadedTable, load_sources
from reference_db.source_schema import PROVENANCE_COLUMNS, TABLES

BUNDLE_FORMAT = 1
RELEASE_FILE = "release.json"
DEFAULT_SOURCES = Path(__file__).parent / "sources"
_SQL_TYPES = {"int": "INTEGER", "bool": "INTEGER"}


@dataclass(frozen=True)
class Release:
    """What ``release.json`` declares about the bundle being built."""

    bundle_id: str
    version: int
    valid_from: str
    expires_at: str


def read_release(directory: Path) -> Release:
    path = directory / RELEASE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        release = Release(
            str(data["bundle_id"]), data["version"], data["valid_from"], data["expires_at"]
        )
    except FileNotFoundError:
        raise SourceError(RELEASE_FILE, 0, "release file is missing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(RELEASE_FILE, 1, f"bad release file: {exc}") from None
    if not isinstance(release.version, int) or release.version < 1:
        raise SourceError(RELEASE_FILE, 1, "version must be a positive integer")
    for name in ("valid_from", "expires_at"):
        _aware(getattr(release, name), name)
    if _aware(release.expires_at, "expires_at") <= _aware(release.valid_from, "valid_from"):
        raise SourceError(RELEASE_FILE, 1, "expires_at must be after valid_from")
    return release


def _aware(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise SourceError(RELEASE_FILE, 1, f"{name} is not an ISO date-time") from None
    if value.tzinfo is None:
        raise SourceError(RELEASE_FILE, 1, f"{name} needs a UTC offset")
    return value


def built_at(tables: dict[str, LoadedTable], environ: dict[str, str]) -> str:
    """The reproducible build instant: SOURCE_DATE_EPOCH, else the newest retrieved date."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).isoformat()
        except (ValueError, OverflowError, OSError):
            raise InputError(
                f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}"
            ) from None
    offset = PROVENANCE_COLUMNS.index("retrieved")
    dates = [str(row[len(t.table.columns) + offset]) for t in tables.values() for row in t.rows]
    return f"{max(dates, default='1970-01-01')}T00:00:00+00:00"


def write_tables(
    conn: sqlite3.Connection, tables: dict[str, LoadedTable], meta: dict[str, str]
) -> None:
    """Create and fill every bundle table on ``conn`` in one transaction."""
    with conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        for table in TABLES:
            columns = [f'"{c.name}" {_SQL_TYPES.get(c.kind, "TEXT")}' for c in table.columns]
            columns += [f'"{p}" TEXT NOT NULL' for p in PROVENANCE_COLUMNS]
            key = ", ".join(f'"{k}"' for k in table.key)
            conn.execute(f'CREATE TABLE "{table.name}" ({", ".join(columns)}, PRIMARY KEY ({key}))')
            marks = ", ".join("?" for _ in table.all_columns)
            conn.executemany(
                f'INSERT INTO "{table.name}" VALUES ({marks})',  # noqa: S608 - names from the schema
                tables[table.name].rows,
            )


def compile_sources(
    directory: Path, progress: Callable[[str], None] | None = None
) -> sqlite3.Connection:
    """Validate the sources and build the bundle tables in memory (unsigned; for evaluation)."""
    release = read_release(directory)
    tables = load_sources(directory, progress)
    conn = sqlite3.connect(":memory:")
    write_tables(conn, tables, _meta(release, built_at(tables, dict(os.environ))))
    return conn


def _meta(release: Release, when: str) -> dict[str, str]:
    return {
        "bundle_id": release.bundle_id,
        "version": str(release.version),
        "built_at": when,
        "valid_from": release.valid_from,
        "expires_at": release.expires_at,
        "format": str(BUNDLE_FORMAT),
    }


def build_bundle(
    sources: Path,
    out: Path,
    key_path: Path,
    environ: dict[str, str],
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Build, sign and atomically place ``out``, ``out.manifest.json`` and ``out.sig``."""
    release = read_release(sources)
    private_key = load_private_key(key_path)
    tables = load_sources(sources, progress)
    when = built_at(tables, environ)
    _prepare_output(out)
    staging = out.with_name(f".{out.name}.building")
    staging.unlink(missing_ok=True)
    conn = sqlite3.connect(staging)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA page_size=4096")
        conn.execute(f"PRAGMA user_version={BUNDLE_FORMAT}")
        write_tables(conn, tables, _meta(release, when))
        conn.execute("VACUUM")
    finally:
        conn.close()
    if progress is not None:
        progress("sign")
    data = staging.read_bytes()
    manifest = Manifest(
        bundle_id=release.bundle_id,
        version=release.version,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        built_at=when,
        valid_from=release.valid_from,
        expires_at=release.expires_at,
        key_id=key_id(private_key.public_key()),
        format=BUNDLE_FORMAT,
    )
    signature = base64.b64encode(sign(private_key, manifest.canonical_bytes())).decode() + "\n"
    manifest_text = (
        json.dumps(json.loads(manifest.canonical_bytes()), indent=2, sort_keys=True) + "\n"
    )
    _replace_text(manifest_path(out), manifest_text)
    _replace_text(signature_path(out), signature)
    os.replace(staging, out)
    return manifest


def _prepare_output(out: Path) -> None:
    """Refuse an output path that cannot become a file before anything is written."""
    if out.is_dir():
        raise InputError(f"{out} is a directory; give the bundle's file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out.parent}: {exc.strerror or exc}") from None


def _replace_text(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.building")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
