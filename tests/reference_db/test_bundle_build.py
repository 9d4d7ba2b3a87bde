"""``prep-refdb keygen`` and ``build``: keys, a deterministic signed bundle, manifest, tables."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
import stat
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from reference_db.builder import DEFAULT_SOURCES
from reference_db.signing import key_id, load_private_key, load_public_key
from reference_db.source_schema import PROVENANCE_COLUMNS, TABLES, TRUST_LEVELS, SourceTable
from tests.reference_db.bundle_fixtures import (
    RELEASE,
    assert_one_line_error,
    build,
    build_error_line,
    bundle_files,
    make_key,
    run_cli,
)

MANIFEST_FIELDS = {
    "bundle_id",
    "version",
    "sha256",
    "built_at",
    "valid_from",
    "expires_at",
    "key_id",
    "size_bytes",
    "format",
}
EPOCH_2026 = "1767225600"  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_key(tmp_path_factory.mktemp("keys") / "refdb.key")


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_key(tmp_path_factory.mktemp("other-keys") / "other.key")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return build(tmp_path_factory.mktemp("first") / "prep-reference.sqlite", keys[0])


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return build(tmp_path_factory.mktemp("second") / "prep-reference.sqlite", keys[0])


def _bytes(bundle: Path) -> list[bytes]:
    return [path.read_bytes() for path in bundle_files(bundle)]


def _manifest(bundle: Path) -> dict:
    return json.loads(bundle_files(bundle)[1].read_text(encoding="utf-8"))


# --- keygen -----------------------------------------------------------------------------------


def test_keygen_writes_a_0600_private_key_and_its_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keyfile = tmp_path / "keys" / "refdb.key"
    result = run_cli(capsys, "keygen", "--out", str(keyfile))
    assert result.code == 0, result.err
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    pub = keyfile.with_name("refdb.key.pub")
    assert pub.is_file()
    private = load_private_key(keyfile)
    public = load_public_key(pub)
    assert key_id(public) == key_id(private.public_key())
    assert key_id(public) in result.out


def test_keygen_refuses_to_overwrite_an_existing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keyfile = tmp_path / "refdb.key"
    assert run_cli(capsys, "keygen", "--out", str(keyfile)).code == 0
    before = keyfile.read_bytes(), keyfile.with_name("refdb.key.pub").read_bytes()
    result = run_cli(capsys, "keygen", "--out", str(keyfile))
    assert_one_line_error(result, "keygen", 2)
    assert (keyfile.read_bytes(), keyfile.with_name("refdb.key.pub").read_bytes()) == before


# --- determinism ------------------------------------------------------------------------------


def test_two_builds_with_the_same_key_are_byte_identical(bundle: Path, rebuilt: Path) -> None:
    assert bundle.parent != rebuilt.parent
    first, second = _bytes(bundle), _bytes(rebuilt)
    assert first[0] == second[0], "SQLite bytes differ"
    assert first[1] == second[1], "manifest bytes differ"
    assert first[2] == second[2], "signature bytes differ"


def test_cli_build_is_byte_identical_to_the_library_build(
    tmp_path: Path,
    bundle: Path,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    out = tmp_path / "cli" / "prep-reference.sqlite"
    result = run_cli(capsys, "build", "--out", str(out), "--key", str(keys[0]))
    assert result.code == 0, result.err
    assert _bytes(out) == _bytes(bundle)


def test_without_source_date_epoch_built_at_is_the_newest_retrieved_date(bundle: Path) -> None:
    newest = ""
    for table in TABLES:
        with (DEFAULT_SOURCES / table.filename).open(newline="", encoding="utf-8") as handle:
            newest = max([newest, *(row["retrieved"] for row in csv.DictReader(handle))])
    assert _manifest(bundle)["built_at"] == f"{newest}T00:00:00+00:00"


def test_source_date_epoch_sets_built_at_and_keeps_builds_identical(
    tmp_path: Path,
    keys: tuple[Path, Path],
    bundle: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = build(tmp_path / "a" / "b.sqlite", keys[0], {"SOURCE_DATE_EPOCH": EPOCH_2026})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2026)
    second = tmp_path / "b" / "b.sqlite"
    assert run_cli(capsys, "build", "--out", str(second), "--key", str(keys[0])).code == 0

    assert _bytes(first) == _bytes(second)
    manifest = _manifest(first)
    assert datetime.fromisoformat(manifest["built_at"]) == datetime.fromisoformat(
        "2026-01-01T00:00:00+00:00"
    )
    with closing(sqlite3.connect(first)) as conn:
        (meta_built_at,) = conn.execute("SELECT value FROM meta WHERE key = 'built_at'").fetchone()
    assert meta_built_at == manifest["built_at"]
    assert manifest["built_at"] != _manifest(bundle)["built_at"]


def test_a_different_key_changes_the_signature_but_not_the_sqlite_bytes(
    tmp_path: Path, bundle: Path, other_keys: tuple[Path, Path]
) -> None:
    other = build(tmp_path / "other.sqlite", other_keys[0])
    (db_a, _, sig_a), (db_b, _, sig_b) = _bytes(bundle), _bytes(other)
    assert db_a == db_b
    assert sig_a != sig_b
    a, b = _manifest(bundle), _manifest(other)
    assert a["key_id"] != b["key_id"]
    assert b["key_id"] == key_id(load_public_key(other_keys[1]))
    assert {k: v for k, v in a.items() if k != "key_id"} == {
        k: v for k, v in b.items() if k != "key_id"
    }


# --- manifest ---------------------------------------------------------------------------------


def test_manifest_has_exactly_the_documented_fields(bundle: Path, keys: tuple[Path, Path]) -> None:
    manifest = _manifest(bundle)
    assert set(manifest) == MANIFEST_FIELDS
    data = bundle.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["size_bytes"] == len(data) == bundle.stat().st_size
    assert manifest["key_id"] == key_id(load_public_key(keys[1]))
    assert manifest["bundle_id"] == RELEASE["bundle_id"]
    assert manifest["version"] == RELEASE["version"]
    assert datetime.fromisoformat(manifest["valid_from"]) == datetime.fromisoformat(
        RELEASE["valid_from"]
    )
    assert datetime.fromisoformat(manifest["expires_at"]) == datetime.fromisoformat(
        RELEASE["expires_at"]
    )
    assert isinstance(manifest["format"], int)
    assert datetime.fromisoformat(manifest["built_at"]).utcoffset() is not None


def test_bundle_meta_table_agrees_with_the_manifest(bundle: Path) -> None:
    manifest = _manifest(bundle)
    with closing(sqlite3.connect(bundle)) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    for name in ("bundle_id", "version", "built_at", "valid_from", "expires_at", "format"):
        assert meta[name] == str(manifest[name]), name


# --- tables and provenance --------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_is_built_with_provenance_on_every_row(
    bundle: Path, table: SourceTable
) -> None:
    with closing(sqlite3.connect(bundle)) as conn:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table.name}")')]
        assert columns, f"table {table.name} is missing"
        assert columns == list(table.all_columns)
        query = f'SELECT source, retrieved, trust FROM "{table.name}"'  # noqa: S608
        rows = conn.execute(query).fetchall()
    with (DEFAULT_SOURCES / table.filename).open(newline="", encoding="utf-8") as handle:
        source_rows = sum(1 for _ in csv.DictReader(handle))
    assert len(rows) == source_rows > 0
    for source, retrieved, trust in rows:
        assert isinstance(source, str) and source.strip()
        assert isinstance(retrieved, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", retrieved)
        assert trust in TRUST_LEVELS
    assert set(TRUST_LEVELS) == {"verified", "unverified", "synthetic"}
    assert tuple(columns[-3:]) == PROVENANCE_COLUMNS


# --- bad input to build and keygen: one line on stderr, exit 2, nothing half-written ----------


def test_build_without_a_key_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREP_REFDB_SIGNING_KEY", raising=False)
    out = tmp_path / "b.sqlite"
    build_error_line(run_cli(capsys, "build", "--out", str(out)))
    assert not out.exists()


def test_build_with_a_public_key_as_the_signing_key_is_bad_input(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.sqlite"
    build_error_line(run_cli(capsys, "build", "--out", str(out), "--key", str(keys[1])))
    assert not out.exists()


def test_build_with_a_non_numeric_source_date_epoch_is_bad_input(
    tmp_path: Path,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    out = tmp_path / "b.sqlite"
    build_error_line(run_cli(capsys, "build", "--out", str(out), "--key", str(keys[0])))
    assert not out.exists()


def test_build_with_an_out_of_range_source_date_epoch_is_bad_input(
    tmp_path: Path,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999999")  # year ~3170843: not a datetime
    out = tmp_path / "b.sqlite"
    build_error_line(run_cli(capsys, "build", "--out", str(out), "--key", str(keys[0])))
    assert not out.exists()


def test_build_onto_an_existing_directory_is_bad_input_and_leaves_nothing(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "work" / "bundle"
    out.mkdir(parents=True)
    build_error_line(run_cli(capsys, "build", "--out", str(out), "--key", str(keys[0])))
    assert out.is_dir() and list(out.iterdir()) == []
    # no manifest or signature for a bundle that was never placed, and no staging file
    assert sorted(p.name for p in out.parent.iterdir()) == ["bundle"]


def test_build_under_a_regular_file_is_bad_input(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    build_error_line(
        run_cli(capsys, "build", "--out", str(blocker / "b.sqlite"), "--key", str(keys[0]))
    )
    assert blocker.read_text(encoding="utf-8") == "x"


def test_keygen_under_a_regular_file_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    assert_one_line_error(
        run_cli(capsys, "keygen", "--out", str(blocker / "refdb.key")), "keygen", 2
    )
