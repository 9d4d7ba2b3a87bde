"""Documents of the site and its renters: upload (blob plus metadata row), list and read.

The type of a file is decided by its first bytes, never by the client's content type or file
name. The bytes are staged and hashed before the write transaction; inside it the document row
and its audit event are flushed first and only then is the blob moved into place, so a failed
audit write leaves neither a row nor a new blob. Site roles see every document of the site; a
renter user sees only its own renter's. Review fields belong to the hub: uploads are ``pending``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import IO, Any, BinaryIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.blobs import CHUNK_BYTES, BlobStore, StagedBlob
from edge.clock import epoch_ms
from edge.errors import Forbidden, InvalidInput, NotFound, UnsupportedMedia
from edge.journal import Actor
from edge.services import EdgeServices
from edge.tables import Document, NodeState, Renter, Site
from edge.users import renter_scope
from sync.ids import uuid7
from sync.shapes.documents import DocumentList, DocumentMeta, DocumentOut, OwnerKind
from sync.vocabulary import ReviewStatus, Role

SITE_ROLES = frozenset({Role.ADMIN, Role.HOST, Role.STAFF})
HEAD_BYTES = 16
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


def sniff_media_type(head: bytes) -> str | None:
    """PDF, PNG, JPEG or WebP from a file's first bytes; None for anything else."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_meta(fields: dict[str, str | None]) -> DocumentMeta:
    """The upload's metadata fields (blank means absent), or ``InvalidInput`` naming the field."""
    present = {name: value for name, value in fields.items() if value not in (None, "")}
    try:
        return DocumentMeta.model_validate(present)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problems = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInput(f"{where}: {first['msg']}", {"fields": problems}) from None


async def upload_document(
    services: EdgeServices, actor: Actor, meta: DocumentMeta, source: IO[bytes], filename: str
) -> DocumentOut:
    """Store one uploaded file and its metadata; returns the new document."""
    now = services.clock.now()
    async with services.db.read() as session:
        site = await _site(session)
        owner_id = await _owner_for_upload(session, actor, meta, site.id)
    store = BlobStore(services.settings.blob_dir)
    staged, content_type = await _stage(store, source, services.settings.limits.max_upload_bytes)
    doc = Document(
        id=str(uuid7(epoch_ms(now))),
        owner_kind=meta.owner_kind.value,
        owner_id=owner_id,
        kind=meta.kind.value,
        number=meta.number,
        issuer=meta.issuer,
        issued_at=_aware(meta.issued_at, site.timezone),
        expires_at=_aware(meta.expires_at, site.timezone),
        sha256=staged.sha256,
        size_bytes=staged.size,
        content_type=content_type,
        filename=_clean_name(filename),
        review_status=ReviewStatus.PENDING.value,
        uploaded_by=actor.user_id,
        created_at=now,
        updated_hlc="",
    )
    try:
        await _insert(services, actor, doc, store, staged)
    finally:
        store.discard(staged)  # nothing left to drop once published
    return to_out(doc, now)


async def list_documents(
    services: EdgeServices,
    actor: Actor,
    owner_kind: OwnerKind | None = None,
    owner_id: str | None = None,
    expiring_within_days: int | None = None,
) -> DocumentList:
    """Documents the actor may see; ``expiring_within_days`` also keeps already expired ones."""
    now = services.clock.now()
    query = select(Document)
    async with services.db.read() as session:
        scope = await _renter_scope(session, actor)
        if scope is not None:
            if owner_kind == OwnerKind.SITE or owner_id not in (None, scope):
                raise Forbidden("a renter account sees only its own documents")
            owner_kind, owner_id = OwnerKind.RENTER, scope
        if owner_kind is not None:
            query = query.where(Document.owner_kind == owner_kind.value)
        if owner_id is not None:
            query = query.where(Document.owner_id == owner_id)
        if expiring_within_days is not None:
            horizon = now + timedelta(days=expiring_within_days)
            query = query.where(col(Document.expires_at).is_not(None))
            query = query.where(col(Document.expires_at) <= horizon)
            query = query.order_by(col(Document.expires_at), col(Document.id))
        else:
            query = query.order_by(col(Document.id))
        rows = (await session.exec(query)).all()
    return DocumentList(documents=[to_out(doc, now) for doc in rows])


async def get_document(services: EdgeServices, actor: Actor, document_id: str) -> DocumentOut:
    """One document the actor may see, or ``NotFound``."""
    async with services.db.read() as session:
        doc = await _visible(session, actor, document_id)
    return to_out(doc, services.clock.now())


async def open_content(
    services: EdgeServices, actor: Actor, document_id: str
) -> tuple[DocumentOut, BinaryIO]:
    """A document and an open handle on its bytes, verified against the stored SHA-256."""
    async with services.db.read() as session:
        doc = await _visible(session, actor, document_id)
    store = BlobStore(services.settings.blob_dir)
    handle = await asyncio.to_thread(store.open_verified, doc.sha256)
    return to_out(doc, services.clock.now()), handle


def to_out(doc: Document, now: datetime) -> DocumentOut:
    expired = doc.expires_at is not None and doc.expires_at <= now
    return DocumentOut.model_validate({**doc.model_dump(), "expired": expired})


async def _stage(store: BlobStore, source: IO[bytes], limit: int) -> tuple[StagedBlob, str]:
    """Check the first bytes, then hash and stage the whole file (up to ``limit`` bytes)."""
    head = source.read(HEAD_BYTES)
    content_type = _accepted_type(head)
    chunks = itertools.chain([head], iter(lambda: source.read(CHUNK_BYTES), b""))
    return await asyncio.to_thread(store.stage, chunks, limit), content_type


async def _insert(
    services: EdgeServices, actor: Actor, doc: Document, store: BlobStore, staged: StagedBlob
) -> None:
    async with services.journal.write(actor, doc.created_at) as tx:
        doc.updated_hlc = tx.stamp()
        tx.session.add(doc)
        tx.record("document.upload", "document", doc.id, _details(doc), state=_state(doc))
        await tx.session.flush()  # the row and its audit event are written, or we stop here
        await asyncio.to_thread(store.publish, staged)


def _details(doc: Document) -> dict[str, Any]:
    keys = ("owner_kind", "owner_id", "kind", "sha256", "size_bytes", "content_type")
    return {key: getattr(doc, key) for key in keys}


def _state(doc: Document) -> dict[str, Any]:
    return doc.model_dump(mode="json")


async def _site(session: AsyncSession) -> Site:
    node = (await session.exec(select(NodeState))).one()
    site = await session.get(Site, node.site_id)
    if site is None:
        raise NotFound("this node has no site record")
    return site


async def _renter_scope(session: AsyncSession, actor: Actor) -> str | None:
    """None for site roles (everything); a renter user's own renter id; otherwise refused."""
    if actor.role in SITE_ROLES:
        return None
    if actor.role == Role.RENTER:
        return await renter_scope(session, actor)
    raise Forbidden(f"{actor.role} may not handle documents on this node")


async def _owner_for_upload(
    session: AsyncSession, actor: Actor, meta: DocumentMeta, site_id: str
) -> str:
    scope = await _renter_scope(session, actor)
    if meta.owner_kind == OwnerKind.SITE:
        if scope is not None:
            raise Forbidden("a renter account may upload only its own documents")
        if meta.owner_id not in (None, site_id):
            raise InvalidInput("owner_id: not this node's site", {"site_id": site_id})
        return site_id
    owner_id = meta.owner_id or scope
    if owner_id is None:
        raise InvalidInput("owner_id: required for a renter's document")
    if scope is not None and owner_id != scope:
        raise Forbidden("a renter account may upload only its own documents")
    if await session.get(Renter, owner_id) is None:
        raise InvalidInput(f"owner_id: no renter {owner_id!r}", {"owner_id": owner_id})
    return owner_id


async def _visible(session: AsyncSession, actor: Actor, document_id: str) -> Document:
    scope = await _renter_scope(session, actor)
    doc = await session.get(Document, document_id)
    if doc is None or (scope is not None and (doc.owner_kind, doc.owner_id) != ("renter", scope)):
        raise NotFound(f"no document {document_id!r}")
    return doc


def _accepted_type(head: bytes) -> str:
    if not head:
        raise InvalidInput("the file is empty")
    content_type = sniff_media_type(head)
    if content_type is None:
        raise UnsupportedMedia("only PDF, JPEG, PNG and WebP files are accepted")
    return content_type


def _aware(value: datetime | None, timezone: str) -> datetime | None:
    """A naive time is the site's wall time; everything is kept in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def _clean_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")[:200]
    return cleaned or "document"
