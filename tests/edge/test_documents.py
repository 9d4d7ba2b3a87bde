"""Document uploads (types by magic bytes, limits, roles), verified reads, and expiry reminders."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.clock import FixedClock, epoch_ms
from edge.journal import SYSTEM
from edge.reminders import ExpiryReminder, send_expiry_reminders
from edge.services import EdgeServices
from edge.tables import Renter
from sync.ids import uuid7
from sync.vocabulary import Role
from tests.edge.conftest import START, Headers, Login

Client = AsyncTestClient[Litestar]
DOCS = "/api/v1/documents"
MIB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 13
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 8
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14


def services_of(app: Litestar) -> EdgeServices:
    services: EdgeServices = app.state.services
    return services


def rows(app: Litestar, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(services_of(app).settings.database_path) as db:
        return db.execute(sql, params).fetchall()


async def add_renter(app: Litestar, name: str = "Artisan Bakery") -> str:
    services = services_of(app)
    now = services.clock.now()
    renter_id = str(uuid7(epoch_ms(now)))
    async with services.journal.write(SYSTEM, now) as tx:
        renter = Renter(id=renter_id, name=name, profile={}, created_at=now, updated_hlc=tx.stamp())
        tx.session.add(renter)
        tx.record("renter.create", "renter", renter_id, {"name": name})
    return renter_id


async def upload(
    client: Client, headers: Headers, content: bytes, filename: str = "permit.pdf", **fields: str
) -> Any:
    form = {"owner_kind": "site", "kind": "health_permit", **fields}
    files = {"file": (filename, content, "application/pdf")}
    return await client.post(DOCS, files=files, data=form, headers=headers)


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "details"}
    assert code is None or error["code"] == code


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")],
    ids=["pdf", "png", "jpeg", "webp"],
)
async def test_each_accepted_type_is_stored_by_hash_and_read_back(
    client: Client, login: Login, app: Litestar, content: bytes, media_type: str
) -> None:
    headers = await login(Role.STAFF)
    response = await upload(client, headers, content, "scan.bin", number="HP-1", issuer="SFDPH")
    assert response.status_code == 201, response.text
    doc = response.json()
    sha = hashlib.sha256(content).hexdigest()
    assert (doc["sha256"], doc["content_type"], doc["size_bytes"]) == (
        sha,
        media_type,
        len(content),
    )
    assert (doc["review_status"], doc["expired"], doc["number"]) == ("pending", False, "HP-1")
    assert doc["owner_id"] == rows(app, "SELECT site_id FROM node_state")[0][0]
    blob = services_of(app).settings.blob_dir / sha[:2] / sha[2:]
    assert blob.read_bytes() == content
    read = await client.get(f"{DOCS}/{doc['id']}/content", headers=headers)
    assert read.status_code == 200
    assert (read.content, read.headers["content-type"]) == (content, media_type)


async def test_the_type_comes_from_the_bytes_not_the_name(client: Client, login: Login) -> None:
    headers = await login(Role.HOST)
    assert_error(await upload(client, headers, b"just some text"), 415, "unsupported_media_type")
    assert_error(await upload(client, headers, b""), 422, "invalid_input")
    png_named_pdf = await upload(client, headers, PNG, "permit.pdf")
    assert png_named_pdf.json()["content_type"] == "image/png"


async def test_one_byte_over_the_limit_is_413_and_leaves_nothing(
    client: Client, login: Login, app: Litestar
) -> None:
    headers = await login(Role.HOST)
    limit = services_of(app).settings.limits.max_upload_bytes
    assert limit == 20 * MIB
    too_big = PDF + b"\0" * (limit + 1 - len(PDF))
    refused = await upload(client, headers, too_big)
    assert_error(refused, 413, "payload_too_large")
    assert refused.json()["error"]["details"] == {"max_bytes": limit}  # counted while streaming
    assert rows(app, "SELECT count(*) FROM document") == [(0,)]
    assert not any(p.is_file() for p in services_of(app).settings.blob_dir.rglob("*"))
    at_limit = await upload(client, headers, too_big[:limit])
    assert at_limit.status_code == 201, at_limit.text


async def test_a_damaged_or_missing_blob_is_never_served(
    client: Client, login: Login, app: Litestar
) -> None:
    headers = await login(Role.HOST)
    doc = (await upload(client, headers, PDF)).json()
    blob = services_of(app).settings.blob_dir / doc["sha256"][:2] / doc["sha256"][2:]
    blob.write_bytes(PDF.replace(b"1.7", b"1.4"))
    assert_error(
        await client.get(f"{DOCS}/{doc['id']}/content", headers=headers), 409, "blob_damaged"
    )
    blob.unlink()
    assert_error(
        await client.get(f"{DOCS}/{doc['id']}/content", headers=headers), 409, "blob_missing"
    )


async def test_unknown_ids_and_bad_metadata(client: Client, login: Login) -> None:
    headers = await login(Role.HOST)
    for path in (f"{DOCS}/nope", f"{DOCS}/nope/content"):
        assert_error(await client.get(path, headers=headers), 404, "not_found")
    assert_error(await upload(client, headers, PDF, kind="recipe"), 422, "invalid_input")
    assert_error(await upload(client, headers, PDF, owner_kind="renter"), 422, "invalid_input")
    assert_error(await upload(client, headers, PDF, owner_kind="renter", owner_id="ghost"), 422)
    assert_error(await upload(client, headers, PDF, expires_at="soon"), 422, "invalid_input")
    assert_error(await client.get(DOCS), 401)


async def test_dates_are_site_local_and_expired_is_derived(
    client: Client, login: Login, clock: FixedClock
) -> None:
    headers = await login(Role.HOST)
    doc = (
        await upload(client, headers, PDF, issued_at="2025-01-15", expires_at="2025-11-30")
    ).json()
    assert doc["issued_at"].startswith("2025-01-15T08:00:00")  # local midnight, PST
    assert doc["expires_at"].startswith("2025-12-01T08:00:00")  # valid through the 30th
    clock.advance(days=26)
    headers = await login(Role.HOST)  # the old access token has expired by now
    listed = (await client.get(DOCS, headers=headers)).json()["documents"]
    assert [d["expired"] for d in listed] == [True]


async def test_site_roles_see_everything_renters_only_their_own(
    client: Client, login: Login, app: Litestar
) -> None:
    baker, other = await add_renter(app), await add_renter(app, "Startup Foods")
    staff = await login(Role.STAFF)
    renter = await login(Role.RENTER, "baker", renter_id=baker)
    site_doc = (await upload(client, staff, PDF)).json()
    others = (await upload(client, staff, PNG, owner_kind="renter", owner_id=other)).json()
    own = await upload(client, renter, JPEG, owner_kind="renter", kind="food_handler_card")
    assert own.status_code == 201, own.text
    assert own.json()["owner_id"] == baker
    assert_error(await upload(client, renter, PDF), 403, "forbidden")
    assert_error(await upload(client, renter, PDF, owner_kind="renter", owner_id=other), 403)
    mine = (await client.get(DOCS, headers=renter)).json()["documents"]
    assert [d["id"] for d in mine] == [own.json()["id"]]
    assert_error(await client.get(DOCS, params={"owner_id": other}, headers=renter), 403)
    for doc in (site_doc, others):
        assert_error(await client.get(f"{DOCS}/{doc['id']}/content", headers=renter), 404)
    everything = (await client.get(DOCS, headers=staff)).json()["documents"]
    assert len(everything) == 3
    only_other = await client.get(DOCS, params={"owner_id": other}, headers=staff)
    assert [d["id"] for d in only_other.json()["documents"]] == [others["id"]]
    assert_error(await upload(client, await login(Role.SUPPORT), PDF), 403)


async def test_expiring_within_days_lists_soonest_first(client: Client, login: Login) -> None:
    headers = await login(Role.HOST)
    for expires in ("2025-12-20T00:00:00Z", "2025-11-10T00:00:00Z", "2027-01-01", ""):
        assert (await upload(client, headers, PDF, expires_at=expires)).status_code == 201
    soon = await client.get(DOCS, params={"expiring_within_days": 60}, headers=headers)
    expiries = [d["expires_at"][:10] for d in soon.json()["documents"]]
    assert expiries == ["2025-11-10", "2025-12-20"]
    bad = await client.get(DOCS, params={"expiring_within_days": -1}, headers=headers)
    assert_error(bad, 400)


async def test_an_upload_is_one_audit_event_and_outbox_rows(
    client: Client, login: Login, app: Litestar
) -> None:
    headers = await login(Role.HOST)
    events, outbox = (
        rows(app, "SELECT count(*) FROM audit_event"),
        rows(app, "SELECT max(seq) FROM outbox"),
    )
    doc = (await upload(client, headers, PDF)).json()
    new_events = rows(app, "SELECT action, entity_id FROM audit_event WHERE seq > ?", events[0][0])
    assert new_events == [("document.upload", doc["id"])]
    changes = rows(app, "SELECT entity, op FROM outbox WHERE seq > ? ORDER BY seq", outbox[0][0])
    assert changes == [("document", "upsert"), ("audit_event", "append")]


async def test_a_failing_audit_write_leaves_no_document_and_no_blob(
    client: Client, login: Login, app: Litestar
) -> None:
    headers = await login(Role.HOST)
    with sqlite3.connect(services_of(app).settings.database_path) as db:
        db.execute(
            "CREATE TRIGGER audit_event_refuse BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit is down'); END"
        )
    assert_error(await upload(client, headers, PDF), 500, "internal_error")
    assert rows(app, "SELECT count(*) FROM document") == [(0,)]
    sha = hashlib.sha256(PDF).hexdigest()
    assert not (services_of(app).settings.blob_dir / sha[:2] / sha[2:]).exists()
    assert not any(p.is_file() for p in services_of(app).settings.blob_dir.rglob("*"))


class Recorder:
    def __init__(self) -> None:
        self.sent: list[ExpiryReminder] = []

    def notify(self, reminder: ExpiryReminder) -> None:
        self.sent.append(reminder)


async def test_reminders_go_out_once_per_mark_without_back_filling(
    client: Client, login: Login, app: Litestar, clock: FixedClock
) -> None:
    headers = await login(Role.HOST)
    ids = {}
    for name, days in (("in40", 40), ("in20", 20), ("in10", 10), ("gone", -1)):
        expires = (START + timedelta(days=days)).isoformat()
        ids[name] = (await upload(client, headers, PDF, expires_at=expires)).json()["id"]
    await upload(client, headers, PNG)  # no expiry: never reminded
    names = {value: key for key, value in ids.items()}
    services, recorder, log = services_of(app), Recorder(), []
    for day in range(42):
        first = await send_expiry_reminders(services, clock.now(), recorder)
        assert await send_expiry_reminders(services, clock.now(), recorder) == []
        log += [(day, names[r.document_id], r.days_before) for r in first]
        clock.advance(days=1)
    assert sorted(log, key=lambda item: (item[1], item[0])) == [
        (0, "in10", 14), (7, "in10", 3),
        (0, "in20", 30), (6, "in20", 14), (17, "in20", 3),
        (10, "in40", 30), (26, "in40", 14), (37, "in40", 3),
    ]  # fmt: skip
    assert len(recorder.sent) == 8
    assert rows(app, "SELECT count(*) FROM reminder_sent") == [(8,)]
    audited = rows(
        app, "SELECT count(*) FROM audit_event WHERE action = 'document.expiry_reminder'"
    )
    assert audited == [(8,)]
    appended = "SELECT count(*) FROM outbox WHERE entity = 'audit_event' AND payload LIKE ?"
    assert rows(app, appended, "%document.expiry_reminder%") == [(8,)]


async def test_reminder_run_with_nothing_due_writes_nothing(app: Litestar, client: Client) -> None:
    before = rows(app, "SELECT count(*) FROM audit_event")
    assert await send_expiry_reminders(services_of(app), START) == []
    assert rows(app, "SELECT count(*) FROM audit_event") == before


def test_blob_paths_use_a_two_digit_folder(tmp_path: Path) -> None:
    from edge.blobs import BlobStore

    store = BlobStore(tmp_path)
    staged = store.write([b"abc", b"def"], max_bytes=10)
    assert staged.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    assert store.exists(staged.sha256)
    assert store.path_for(staged.sha256) == tmp_path / staged.sha256[:2] / staged.sha256[2:]
    assert store.read(staged.sha256) == b"abcdef"
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for("../../etc/passwd")
