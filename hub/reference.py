"""The rule book of the latest published reference bundle, for the hub's own booking checks.

The newest ``reference_bundle`` row names the file under ``settings.bundle_dir`` that the hub
verified when it was published. ``ReferenceCache`` opens it read-only (``reference_db``'s
reader) the first time that version is asked for, after checking the file's hash against the
row (a damaged or swapped file is refused, never trusted), and keeps the rule book of the
newest version it has seen. Before the first publication there is no rule book: ``Conflict``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, Unavailable
from hub.tables import ReferenceBundle
from reference_db.bundle import file_sha256
from reference_db.errors import RefDbError
from reference_db.reader import open_rulebook
from reference_db.rulebook import RuleBook


class ReferenceCache:
    """The rule book of the newest published bundle, loaded once per version."""

    def __init__(self) -> None:
        self._loaded: tuple[int, RuleBook] | None = None
        self._lock = asyncio.Lock()

    async def rulebook(self, session: AsyncSession) -> RuleBook:
        query = select(ReferenceBundle).order_by(col(ReferenceBundle.version).desc()).limit(1)
        latest = (await session.exec(query)).first()
        if latest is None:
            raise Conflict(
                "no reference bundle has been published yet, so booking rules and prices are"
                " unknown: publish one with prep-hub publish-refdb",
                {"reason": "no_reference_bundle"},
            )
        async with self._lock:  # one load per version, however many requests ask at once
            if self._loaded is None or self._loaded[0] != latest.version:
                book = await asyncio.to_thread(_open, Path(latest.path), latest.sha256)
                self._loaded = (latest.version, book)
            return self._loaded[1]


def _open(path: Path, sha256: str) -> RuleBook:
    try:
        if file_sha256(path) != sha256:
            raise Unavailable(
                "the published reference bundle on disk does not match its record",
                {"path": path.name},
            )
        return open_rulebook(path)
    except (OSError, RefDbError) as exc:  # the message may name server paths: only its kind
        raise Unavailable(
            "the published reference bundle cannot be read", {"reason": type(exc).__name__}
        ) from None
