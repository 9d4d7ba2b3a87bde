"""Document shapes of the edge API: the metadata sent with an upload and a stored document.

Dates follow ``sync.instants``: a datetime without an offset is local to the site, and a bare
expiry date means "valid through that day". Review fields are written only by the hub, so an
upload carries none of them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sync.instants import Expiry, Instant
from sync.vocabulary import DocumentKind, ReviewStatus


class OwnerKind(StrEnum):
    """Whose document it is: the kitchen site's, or a renter's."""

    SITE = "site"
    RENTER = "renter"


class DocumentMeta(BaseModel):
    """The metadata fields of ``POST /documents`` (beside the ``file`` part)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    owner_kind: OwnerKind
    owner_id: str | None = Field(None, max_length=64, description="the site's id when absent")
    kind: DocumentKind
    number: str | None = Field(None, max_length=200)
    issuer: str | None = Field(None, max_length=200)
    issued_at: Instant | None = None
    expires_at: Expiry | None = None


class DocumentOut(BaseModel):
    """A stored document; ``expired`` is derived from ``expires_at`` and the edge's clock."""

    id: str
    owner_kind: OwnerKind
    owner_id: str
    kind: str
    number: str | None
    issuer: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    expired: bool
    sha256: str
    size_bytes: int
    content_type: str
    filename: str
    review_status: ReviewStatus
    uploaded_by: str
    created_at: datetime


class DocumentList(BaseModel):
    """The answer of ``GET /documents``."""

    documents: list[DocumentOut]
