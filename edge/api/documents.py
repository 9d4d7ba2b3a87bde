"""Edge API: upload documents (multipart), list them, and stream their verified bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import FromQuery, MultipartBody, Parameter
from litestar.response import Stream

from edge.api.markers import CurrentActor, PathId, Services
from edge.blobs import read_chunks
from edge.documents import get_document, list_documents, open_content, parse_meta, upload_document
from sync.shapes.documents import DocumentList, DocumentOut, OwnerKind


@dataclass
class UploadForm:
    """``POST /documents``: the ``file`` part and the metadata of ``DocumentMeta`` as text."""

    file: UploadFile
    owner_kind: str | None = None
    owner_id: str | None = None
    kind: str | None = None
    number: str | None = None
    issuer: str | None = None
    issued_at: str | None = None
    expires_at: str | None = None


@post("/documents", status_code=201, tags=["documents"])
async def upload(
    services: Services,
    actor: CurrentActor,
    data: MultipartBody[UploadForm],
) -> DocumentOut:
    """Upload a PDF, JPEG, PNG or WebP file with its metadata; review status starts pending."""
    try:
        fields = {name: value for name, value in vars(data).items() if name != "file"}
        meta = parse_meta(fields)
        return await upload_document(services, actor, meta, data.file.file, data.file.filename)
    finally:
        await data.file.close()


@get("/documents", tags=["documents"])
async def index(
    services: Services,
    actor: CurrentActor,
    owner_kind: FromQuery[OwnerKind | None] = None,
    owner_id: FromQuery[str | None] = None,
    expiring_within_days: Annotated[int | None, Parameter(ge=0, le=3650)] = None,
) -> DocumentList:
    """Documents the caller may see, optionally only one owner's or those expiring soon."""
    return await list_documents(services, actor, owner_kind, owner_id, expiring_within_days)


@get("/documents/{document_id:str}", tags=["documents"])
async def show(
    services: Services,
    actor: CurrentActor,
    document_id: PathId,
) -> DocumentOut:
    """One document's metadata."""
    return await get_document(services, actor, document_id)


@get("/documents/{document_id:str}/content", tags=["documents"])
async def content(
    services: Services,
    actor: CurrentActor,
    document_id: PathId,
) -> Stream:
    """The document's bytes, checked against their SHA-256 first (409 if damaged or missing)."""
    doc, handle = await open_content(services, actor, document_id)
    ascii_name = doc.filename.encode("ascii", "replace").decode().replace('"', "_")
    headers = {
        "Content-Length": str(doc.size_bytes),
        "Content-Disposition": (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.filename)}"
        ),
        "ETag": f'"{doc.sha256}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Stream(read_chunks(handle), media_type=doc.content_type, headers=headers)


ROUTES: list[Any] = [upload, index, show, content]
