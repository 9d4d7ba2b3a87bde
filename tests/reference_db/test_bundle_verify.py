"""``verify_bundle`` and ``prep-refdb verify``: a bundle is trusted only when everything checks.

Exit 0 valid, 1 a bundle that must not be trusted (with the reason on stderr), 2 bad input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reference_db import verify_bundle
from reference_db.errors import (
    BundleError,
    BundleExpired,
    HashMismatch,
    KeyMismatch,
    SignatureInvalid,
    VersionNotNewer,
)
from reference_db.manifest import manifest_path, signature_path
from reference_db.signing import load_public_key
from tests.reference_db.bundle_fixtures import (
    INSIDE_VALIDITY,
    RELEASE,
    CliResult,
    assert_one_line_error,
    build,
    copy_bundle,
    make_key,
    run_cli,
)

NOW = datetime.fromisoformat(INSIDE_VALIDITY)
VALID_FROM = datetime.fromisoformat(RELEASE["valid_from"])
EXPIRES_AT = datetime.fromisoformat(RELEASE["expires_at"])
VERSION = RELEASE["version"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_key(tmp_path_factory.mktemp("keys") / "refdb.key")


@pytest.fixture(scope="module")
def stranger_pub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("stranger") / "stranger.key")[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return build(tmp_path_factory.mktemp("pristine") / "prep-reference.sqlite", keys[0])


@pytest.fixture
def bundle(tmp_path: Path, pristine: Path) -> Path:
    """A private copy of the built bundle that a test may tamper with."""
    return copy_bundle(pristine, tmp_path / "copy")


@pytest.fixture
def public_key(keys: tuple[Path, Path]) -> Ed25519PublicKey:
    return load_public_key(keys[1])


def _verify_cli(capsys: pytest.CaptureFixture[str], bundle: Path, *extra: str) -> CliResult:
    return run_cli(capsys, "verify", str(bundle), *extra)


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# --- valid ------------------------------------------------------------------------------------


def test_a_fresh_bundle_verifies(bundle: Path, public_key: Ed25519PublicKey) -> None:
    manifest = verify_bundle(bundle, public_key, NOW, None)
    assert manifest.bundle_id == RELEASE["bundle_id"]
    assert manifest.version == VERSION


def test_cli_valid_bundle_exits_0(
    bundle: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    assert result.code == 0, result.err
    assert RELEASE["bundle_id"] in result.out
    assert "Traceback" not in result.err


def test_cli_reads_the_pinned_key_from_the_environment(
    bundle: Path,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREP_REFDB_PUBKEY", str(keys[1]))
    assert _verify_cli(capsys, bundle, "--at", INSIDE_VALIDITY).code == 0


def test_valid_from_itself_is_inside_the_window(bundle: Path, public_key: Ed25519PublicKey) -> None:
    verify_bundle(bundle, public_key, VALID_FROM, None)


# --- tampering --------------------------------------------------------------------------------


def test_a_flipped_byte_in_the_sqlite_file_is_a_hash_mismatch(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _flip_byte(bundle, bundle.stat().st_size // 2)
    with pytest.raises(HashMismatch):
        verify_bundle(bundle, public_key, NOW, None)
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    line = assert_one_line_error(result, "verify", 1)
    assert "hash" in line.lower()
    assert result.out == ""


def test_an_edited_manifest_breaks_the_signature(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = manifest_path(bundle)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["version"] = VERSION + 1
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with pytest.raises(SignatureInvalid):
        verify_bundle(bundle, public_key, NOW, None)
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    assert "signature" in assert_one_line_error(result, "verify", 1).lower()


def test_a_flipped_byte_in_the_manifest_sha256_breaks_the_signature(
    bundle: Path, public_key: Ed25519PublicKey
) -> None:
    """Rewriting the pinned hash (to match a swapped file) must not get past the signature."""
    path = manifest_path(bundle)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    digest = manifest["sha256"]
    manifest["sha256"] = ("0" if digest[0] != "0" else "1") + digest[1:]
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with pytest.raises(SignatureInvalid):
        verify_bundle(bundle, public_key, NOW, None)


def test_a_corrupted_signature_is_invalid(bundle: Path, public_key: Ed25519PublicKey) -> None:
    sig = signature_path(bundle)
    text = sig.read_text(encoding="ascii").strip()
    sig.write_text(("B" if text[0] != "B" else "C") + text[1:] + "\n", encoding="ascii")
    with pytest.raises(SignatureInvalid):
        verify_bundle(bundle, public_key, NOW, None)


def test_a_wrong_public_key_is_a_key_mismatch(
    bundle: Path, stranger_pub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(KeyMismatch):
        verify_bundle(bundle, load_public_key(stranger_pub), NOW, None)
    result = _verify_cli(capsys, bundle, "--pubkey", str(stranger_pub), "--at", INSIDE_VALIDITY)
    assert_one_line_error(result, "verify", 1)


def test_a_missing_signature_file_is_invalid(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    signature_path(bundle).unlink()
    with pytest.raises(BundleError):
        verify_bundle(bundle, public_key, NOW, None)
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    assert_one_line_error(result, "verify", 1)


def test_a_missing_manifest_is_invalid(
    bundle: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_path(bundle).unlink()
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    assert_one_line_error(result, "verify", 1)


def test_a_missing_bundle_is_invalid(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _verify_cli(
        capsys, tmp_path / "nothing.sqlite", "--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY
    )
    assert result.code in (1, 2)  # never "valid"; the contract does not say which of the two
    assert_one_line_error(result, "verify", result.code)


# --- time window ------------------------------------------------------------------------------


def test_after_expires_at_the_bundle_is_expired(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    later = EXPIRES_AT + timedelta(days=1)
    with pytest.raises(BundleExpired):
        verify_bundle(bundle, public_key, later, None)
    with pytest.raises(BundleExpired):
        verify_bundle(bundle, public_key, EXPIRES_AT, None)  # expires_at itself is already past
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", _iso(later))
    assert "expire" in assert_one_line_error(result, "verify", 1).lower()


def test_before_valid_from_the_bundle_is_not_yet_valid(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    earlier = VALID_FROM - timedelta(seconds=1)
    with pytest.raises(BundleExpired):
        verify_bundle(bundle, public_key, earlier, None)
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", _iso(earlier))
    assert_one_line_error(result, "verify", 1)


def test_at_without_an_offset_is_bad_input(
    bundle: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _verify_cli(capsys, bundle, "--pubkey", str(keys[1]), "--at", "2026-01-01T00:00:00")
    assert_one_line_error(result, "verify", 2)


# --- version ----------------------------------------------------------------------------------


def test_a_version_not_above_the_installed_one_is_refused(
    bundle: Path,
    public_key: Ed25519PublicKey,
    keys: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert VERSION == 1
    with pytest.raises(VersionNotNewer):
        verify_bundle(bundle, public_key, NOW, VERSION)
    assert verify_bundle(bundle, public_key, NOW, VERSION - 1).version == VERSION
    base = ("--pubkey", str(keys[1]), "--at", INSIDE_VALIDITY)
    refused = _verify_cli(capsys, bundle, *base, "--current-version", "1")
    assert "version" in assert_one_line_error(refused, "verify", 1).lower()
    accepted = _verify_cli(capsys, bundle, *base, "--current-version", "0")
    assert accepted.code == 0, accepted.err


# --- bad input --------------------------------------------------------------------------------


def test_no_pinned_key_is_bad_input(
    bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREP_REFDB_PUBKEY", raising=False)
    result = _verify_cli(capsys, bundle, "--at", INSIDE_VALIDITY)
    assert_one_line_error(result, "verify", 2)


def test_an_unreadable_public_key_is_bad_input(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _verify_cli(
        capsys, bundle, "--pubkey", str(tmp_path / "absent.pub"), "--at", INSIDE_VALIDITY
    )
    assert_one_line_error(result, "verify", 2)
