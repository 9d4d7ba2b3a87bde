"""Documents' bytes edge -> hub (resumable, stored once) and reference bundles hub -> edge."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from edge.blob_sync import MARKER_DIR, upload_missing_blobs
from edge.bundle_sync import BundleRejected, finish_interrupted_swap, refresh_bundle
from edge.clock import epoch_ms
from edge.errors import HubRefused
from edge.hub_link import BlobOffset, HubLink
from edge.reference import HUB_KEY, PINNED_KEY, bundle_path, load_reference
from edge.sync_push import push_pending
from edge.sync_runner import read_link
from hub.bundles import publish_bundle
from hub.settings import HubSettings
from reference_db.bundle import file_sha256
from reference_db.signing import generate_keypair, load_private_key, public_path
from tests.contract.conftest import Pair, PairFactory
from tests.contract.helpers import EdgeSite, hub_rows, set_up_edge
from tests.reference_db.bundle_fixtures import build, copy_sources

MIB = 1024 * 1024
BLOBS = "/sync/v1/blobs"


def pdf(size: int, seed: bytes = b"permit") -> bytes:
    """A PDF-looking file of ``size`` bytes whose content depends on ``seed``."""
    head = b"%PDF-1.7\n"
    block = hashlib.sha256(seed).digest() * (size // 32 + 1)
    return head + block[: size - len(head)]


@asynccontextmanager
async def hub_link(pair: Pair) -> AsyncIterator[HubLink]:
    """A signed link to the hub as the sync round builds it."""
    services = pair.services
    state = await read_link(services)
    link = HubLink(
        state["hub_url"],
        state["node_id"],
        load_private_key(services.settings.key_dir / "node.key"),
        lambda: epoch_ms(pair.clock.now()),
        pair.transport,
    )
    try:
        yield link
    finally:
        await link.close()


async def document_pushed(pair: Pair, link: HubLink, content: bytes) -> str:
    """Upload ``content`` as a site document on the edge and push its metadata; its SHA-256."""
    site = await set_up_edge(pair.edge, pair.edge_client)
    await upload(pair, site, content)
    state = await read_link(pair.services)
    await push_pending(pair.services, link, state["generation"], 2000)
    return hashlib.sha256(content).hexdigest()


async def upload(pair: Pair, site: EdgeSite, content: bytes) -> None:
    response = await pair.edge_client.post(
        "/api/v1/documents",
        files={"file": ("permit.pdf", content, "application/pdf")},
        data={"owner_kind": "site", "kind": "health_permit"},
        headers=site.headers,
    )
    assert response.status_code == 201, response.text


def hub_file(hub_settings: HubSettings, sha256: str) -> Path:
    return hub_settings.blob_dir / sha256[:2] / sha256[2:]


async def blob_row(pair: Pair, sha256: str) -> tuple[Any, ...] | None:
    rows = await hub_rows(
        pair.hub_db,
        "SELECT size_bytes, received_bytes, complete FROM blob WHERE sha256 = :sha",
        sha=sha256,
    )
    return tuple(rows[0]) if rows else None


# --- blobs ----------------------------------------------------------------------------------------


async def test_a_document_reaches_the_hub_once(
    make_pair: PairFactory, hub_settings: HubSettings
) -> None:
    content = pdf(2 * MIB + 12345)
    async with make_pair() as pair, hub_link(pair) as link:
        sha = await document_pushed(pair, link, content)

        assert await upload_missing_blobs(pair.services, link) == 1
        assert hub_file(hub_settings, sha).read_bytes() == content
        assert await blob_row(pair, sha) == (len(content), len(content), True)
        assert not (hub_settings.blob_dir / ".partial" / sha).exists()

        # A marked blob is not asked about again; without markers, HEAD skips what the hub has.
        assert await upload_missing_blobs(pair.services, link) == 0
        shutil.rmtree(pair.services.settings.data_dir / MARKER_DIR)
        sent = spy_on_chunks(link)
        assert await upload_missing_blobs(pair.services, link) == 0
        assert sent == []
        assert await link.head_blob(sha) == BlobOffset(len(content), len(content), True)


async def test_an_interrupted_upload_resumes_from_the_hubs_offset(
    make_pair: PairFactory, hub_settings: HubSettings
) -> None:
    content = pdf(2 * MIB + 100)
    async with make_pair() as pair, hub_link(pair) as link:
        sha = await document_pushed(pair, link, content)
        first = await link.put_blob_chunk(sha, 0, content[:MIB], len(content))
        assert first == BlobOffset(MIB, len(content), False)
        assert await link.head_blob(sha) == first

        with pytest.raises(HubRefused) as stale:  # a chunk that does not start at the offset
            await link.put_blob_chunk(sha, 0, content[:MIB], len(content))
        assert (stale.value.hub_status, stale.value.hub_code) == (409, "offset_mismatch")

        sent = spy_on_chunks(link)
        assert await upload_missing_blobs(pair.services, link) == 1
        assert sent == [MIB, 2 * MIB]
        assert hub_file(hub_settings, sha).read_bytes() == content


async def test_a_corrupted_upload_is_refused_and_discarded(
    make_pair: PairFactory, hub_settings: HubSettings
) -> None:
    content = pdf(MIB + 500)
    async with make_pair() as pair, hub_link(pair) as link:
        sha = await document_pushed(pair, link, content)
        await link.put_blob_chunk(sha, 0, content[:MIB], len(content))
        tampered = bytes(b ^ 0xFF for b in content[MIB:])

        with pytest.raises(HubRefused) as refused:
            await link.put_blob_chunk(sha, MIB, tampered, len(content))

        assert (refused.value.hub_status, refused.value.hub_code) == (422, "blob_hash_mismatch")
        assert await link.head_blob(sha) is None
        assert await blob_row(pair, sha) is None
        assert not hub_file(hub_settings, sha).exists()
        assert not (hub_settings.blob_dir / ".partial" / sha).exists()
        assert await upload_missing_blobs(pair.services, link) == 1
        assert hub_file(hub_settings, sha).read_bytes() == content


async def test_a_blob_is_read_back_by_its_site(make_pair: PairFactory, tmp_path: Path) -> None:
    content = pdf(300_000)
    async with make_pair() as pair, hub_link(pair) as link:
        sha = await document_pushed(pair, link, content)
        await upload_missing_blobs(pair.services, link)
        with (tmp_path / "copy").open("w+b") as out:
            assert await link.fetch_blob(sha, out, len(content)) == len(content)
            out.seek(0)
            assert out.read() == content
        with pytest.raises(HubRefused) as unknown, (tmp_path / "other").open("wb") as out:
            await link.fetch_blob("0" * 64, out, MIB)
        assert unknown.value.hub_status == 404


async def test_bad_blob_requests_get_4xx_never_500(make_pair: PairFactory) -> None:
    content = pdf(1000)
    async with make_pair() as pair, hub_link(pair) as link:
        sha = await document_pushed(pair, link, content)
        checks: list[tuple[int, str | None]] = []
        for method, target in (("HEAD", f"{BLOBS}/NOTAHASH"), ("PUT", f"{BLOBS}/{sha.upper()}")):
            checks.append(await refusal(link.call(method, target, content)))
        checks.append(await refusal(link.call("PUT", f"{BLOBS}/{sha}", content)))  # no range
        checks.append(await refusal(link.put_blob_chunk(sha, 10, content, len(content))))
        checks.append(await refusal(link.put_blob_chunk(sha, 0, content[:10], 21 * MIB)))
        checks.append(await refusal(link.put_blob_chunk("ab" * 32, 0, content, len(content))))
        checks.append(await refusal(link.put_blob_chunk(sha, 0, content[:9], len(content) - 1)))
        unsigned = await pair.hub_client.put(f"{BLOBS}/{sha}", content=content)

        assert checks == [
            (400, "http_error"),  # a HEAD answer has no body, so no error code
            (400, "bad_request"),
            (400, "bad_content_range"),
            (400, "bad_content_range"),
            (413, "payload_too_large"),
            (409, "blob_unreferenced"),
            (409, "blob_unreferenced"),
        ]
        assert unsigned.status_code == 401
        assert await upload_missing_blobs(pair.services, link) == 1  # nothing was half-stored


async def refusal(call: Any) -> tuple[int, str | None]:
    try:
        await call
    except HubRefused as exc:
        return exc.hub_status, exc.hub_code
    return 200, None


def spy_on_chunks(link: HubLink) -> list[int]:
    """Record the start offset of every chunk ``link`` sends from now on."""
    sent: list[int] = []
    original = link.put_blob_chunk

    async def put(sha256: str, start: int, chunk: bytes, total: int) -> BlobOffset:
        sent.append(start)
        return await original(sha256, start, chunk, total)

    link.put_blob_chunk = put  # type: ignore[method-assign]
    return sent


# --- reference bundles ----------------------------------------------------------------------------


def signed_bundle(
    directory: Path,
    key: Path,
    version: int,
    valid_from: str = "2025-10-01T00:00:00Z",
    expires_at: str = "2027-12-31T00:00:00Z",
) -> Path:
    """The packaged sources built as ``version`` with the given window, signed by ``key``."""
    sources = copy_sources(directory / f"sources-{version}")
    release = json.loads((sources / "release.json").read_text(encoding="utf-8"))
    release.update(version=version, valid_from=valid_from, expires_at=expires_at)
    (sources / "release.json").write_text(json.dumps(release), encoding="utf-8")
    return build(directory / f"v{version}" / "prep-reference.sqlite", key, sources=sources)


async def publish(
    pair: Pair, hub_settings: HubSettings, bundle: Path, at: datetime | None = None
) -> None:
    async with pair.hub_db.write() as session:
        await publish_bundle(
            session,
            bundle,
            hub_settings.refdb_key(),
            hub_settings.bundle_dir,
            at or pair.clock.now(),
        )


def pin_hub_key(pair: Pair, refdb_key: Path) -> None:
    """The edge trusts the key the test hub pins (as enrolment with a real hub would arrange)."""
    shutil.copyfile(public_path(refdb_key), pair.services.settings.key_dir / PINNED_KEY)


def node_reference_version(pair: Pair) -> int:
    with sqlite3.connect(pair.services.settings.database_path) as db:
        (version,) = db.execute("SELECT reference_version FROM node_state").fetchone()
    return int(version)


async def test_a_newer_bundle_is_verified_and_swapped_in(
    make_pair: PairFactory, hub_settings: HubSettings, refdb_key: Path, tmp_path: Path
) -> None:
    bundle = signed_bundle(tmp_path, refdb_key, 2)
    async with make_pair() as pair, hub_link(pair) as link:
        services = pair.services
        refdb = services.settings.refdb_dir
        old_sha = file_sha256(bundle_path(refdb))
        pin_hub_key(pair, refdb_key)
        assert await refresh_bundle(services, link) is None  # nothing published yet
        await publish(pair, hub_settings, bundle)

        assert await refresh_bundle(services, link) == 2

        assert services.reference.version == 2 and node_reference_version(pair) == 2
        assert file_sha256(bundle_path(refdb)) == file_sha256(bundle)
        assert file_sha256(refdb / "previous.sqlite") == old_sha
        assert not (refdb / ".incoming").exists()
        assert load_reference(refdb, services.settings.key_dir).version == 2  # as after a restart
        site = await set_up_edge(pair.edge, pair.edge_client)
        status = await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)
        assert status.json()["reference_version"] == 2
        assert await refresh_bundle(services, link) is None  # up to date


async def test_a_bundle_signed_by_another_key_is_refused(
    make_pair: PairFactory, hub_settings: HubSettings, refdb_key: Path, tmp_path: Path
) -> None:
    async with make_pair() as pair, hub_link(pair) as link:
        await publish(pair, hub_settings, signed_bundle(tmp_path, refdb_key, 2))
        other = tmp_path / "other-fleet.key"
        generate_keypair(other)  # this node was pinned to another fleet's key
        shutil.copyfile(public_path(other), pair.services.settings.key_dir / HUB_KEY)
        await refused(pair, link, "key_mismatch")


async def test_an_expired_bundle_is_refused(
    make_pair: PairFactory, hub_settings: HubSettings, refdb_key: Path, tmp_path: Path
) -> None:
    expired = signed_bundle(tmp_path, refdb_key, 2, expires_at="2025-11-01T00:00:00Z")
    async with make_pair() as pair, hub_link(pair) as link:
        pin_hub_key(pair, refdb_key)
        await publish(pair, hub_settings, expired, at=datetime(2025, 10, 15, tzinfo=UTC))
        await refused(pair, link, "bundle_expired")


async def test_a_rollback_is_refused(
    make_pair: PairFactory, hub_settings: HubSettings, refdb_key: Path, tmp_path: Path
) -> None:
    async with make_pair() as pair, hub_link(pair) as link:
        pin_hub_key(pair, refdb_key)
        await publish(pair, hub_settings, signed_bundle(tmp_path, refdb_key, 3))
        assert await refresh_bundle(pair.services, link) == 3
        async with pair.hub_db.engine.begin() as connection:  # the hub forgets v3, offers v2
            await connection.execute(text("DELETE FROM reference_bundle"))
        await publish(pair, hub_settings, signed_bundle(tmp_path, refdb_key, 2))
        await refused(pair, link, "rollback", version=3)


async def refused(pair: Pair, link: HubLink, reason: str, version: int = 1) -> None:
    """``refresh_bundle`` refuses with ``reason`` and the bundle in use stays."""
    services = pair.services
    before = file_sha256(bundle_path(services.settings.refdb_dir))
    with pytest.raises(BundleRejected) as rejected:
        await refresh_bundle(services, link)
    assert rejected.value.details["reason"] == reason
    assert services.reference.version == version and node_reference_version(pair) == version
    assert file_sha256(bundle_path(services.settings.refdb_dir)) == before
    assert not (services.settings.refdb_dir / ".incoming").exists()


def test_a_swap_cut_short_is_finished_before_the_bundle_is_loaded(
    refdb_key: Path, tmp_path: Path
) -> None:
    refdb, keys = tmp_path / "refdb", tmp_path / "keys"
    keys.mkdir()
    shutil.copyfile(public_path(refdb_key), keys / PINNED_KEY)
    current = bundle_path(refdb)
    copy_as(signed_bundle(tmp_path, refdb_key, 1), current)
    staging = refdb / ".incoming"
    copy_as(signed_bundle(tmp_path, refdb_key, 2), staging / current.name)
    (staging / "READY").touch()
    (staging / current.name).replace(current)  # the crash came after the first rename

    assert finish_interrupted_swap(refdb) is True

    assert load_reference(refdb, keys).version == 2
    assert not staging.exists()
    assert finish_interrupted_swap(refdb) is False


def copy_as(bundle: Path, target: Path) -> None:
    """Copy a bundle and the files beside it so that they are named after ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".manifest.json", ".sig"):
        shutil.copyfile(f"{bundle}{suffix}", f"{target}{suffix}")


async def test_a_round_installs_the_bundle_the_hub_announces(
    make_pair: PairFactory, hub_settings: HubSettings, refdb_key: Path, tmp_path: Path
) -> None:
    async with make_pair() as pair:
        quiet = await pair.sync()  # nothing published: the pull says so, no bundle request
        await publish(pair, hub_settings, signed_bundle(tmp_path, refdb_key, 7))
        report = await pair.sync()
        again = await pair.sync()
        assert quiet.reference_version is None and quiet.pull.hub_bundle_version is None
        assert report.pull.hub_bundle_version == 7 and report.reference_version == 7
        assert pair.services.reference.version == 7
        assert again.reference_version is None  # already in use: nothing fetched again
