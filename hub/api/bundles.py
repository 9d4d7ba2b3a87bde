"""Sync API for reference bundles (``/sync/v1/bundles``), every request signed by a node.

``GET /bundles/latest`` answers the newest published bundle's version, manifest, signature
(base64, as in the ``.sig`` file), SHA-256 and size (404 before the first publication);
``GET /bundles/{version}/file`` streams that bundle's SQLite file. The edge verifies all of it
against its own pinned key: the hub only relays what ``prep-hub publish-refdb`` checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import PathParameter
from litestar.response import File

from hub.api.blobs import signed_node
from hub.api.markers import Services
from hub.api.sync import _signed
from hub.bundles import BUNDLE_NAME, latest_version
from hub.errors import NotFound
from hub.tables import ReferenceBundle

TAGS = ["sync"]
SQLITE_MEDIA_TYPE = "application/vnd.sqlite3"

Version = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="a bundle version")]


@get("/bundles/latest", tags=TAGS)
async def latest_bundle(request: Request[Any, Any, Any], services: Services) -> dict[str, Any]:
    """The newest published bundle: version, manifest, signature, SHA-256 and size."""
    signed = await _signed(request)
    async with services.db.write() as session:
        await signed_node(session, services, signed)
        version = await latest_version(session)
        row = None if version is None else await session.get(ReferenceBundle, version)
    if row is None:
        raise NotFound("no reference bundle has been published yet")
    return {
        "version": row.version,
        "manifest": row.manifest,
        "signature": row.signature,
        "sha256": row.sha256,
        "size_bytes": row.size_bytes,
        "published_at": row.published_at.isoformat(),
    }


@get("/bundles/{version:int}/file", tags=TAGS)
async def bundle_file(
    request: Request[Any, Any, Any], services: Services, version: Version
) -> File:
    """The SQLite file of one published bundle."""
    signed = await _signed(request)
    async with services.db.write() as session:
        await signed_node(session, services, signed)
        row = await session.get(ReferenceBundle, version)
    if row is None or not Path(row.path).is_file():
        raise NotFound(f"no published bundle {version}", {"version": version})
    return File(path=row.path, filename=BUNDLE_NAME, media_type=SQLITE_MEDIA_TYPE)


ROUTES: list[Any] = [latest_bundle, bundle_file]
