"""The change store: what the edge's outbox (SQLite) and the hub's feed (PostgreSQL) both promise.

Each side keeps two things about changes, and one contract suite (``tests/change_store``) holds
both implementations (``edge/change_store.py``, ``hub/change_store.py``) to the same promises:

- **its own log**, which its peer reads: the edge's outbox (read by push) and the hub's feed of
  one site (read by pull). ``append`` numbers changes inside the caller's transaction, in
  ascending ``seq`` above every seq committed before; ``read_after`` answers committed changes
  after a cursor, in ascending order. Appends commit in seq order (one writer on SQLite, the
  site's advisory lock on PostgreSQL), so a reader paging from the last seq it saw never skips a
  change and never sees one twice, however many writers append meanwhile. The outbox numbers
  without holes (``contiguous``); the feed shares one sequence among all sites, so a site's seqs
  ascend with holes.
- **an applied mark per origin** whose log it applies: the hub's ``node.high_water`` for each
  node's outbox, the edge's pull checkpoint for the hub's feed. ``claim`` reads the mark, locked
  until the transaction ends, and sorts a batch with ``sort_batch``; ``mark_applied`` moves the
  mark forward in the same transaction as the applied data, so both commit or neither does, and
  each ``(origin, seq)`` is applied exactly once however often a batch is retried.

Errors: ``UnknownOrigin`` (a ``LookupError``) for an origin the store keeps no mark for;
``ValueError`` for a batch whose seqs do not ascend, or a change the log cannot hold.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

HUB_ORIGIN = "hub"  # the origin of the hub's own changes, and the edge's one peer


class UnknownOrigin(LookupError):
    """The store keeps no applied mark for this origin (not an enrolled node of the site, or, on
    the edge, anything but the hub)."""


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change to append: who made it, when (HLC), to what, and the record's state."""

    origin: str
    hlc: str
    entity: str
    entity_id: str
    op: str  # upsert | delete | append
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A committed change and its place in the log."""

    seq: int
    origin: str
    hlc: str
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    """A batch sorted against an origin's applied mark."""

    mark: int  # the origin's mark when claimed: everything up to it is applied here
    fresh: tuple[int, ...]  # the seqs to apply now, ascending (none on a gap)
    duplicates: int  # seqs at or below the mark: applied before, skipped
    gap: bool  # the batch starts beyond the mark: apply nothing, the origin resends from the mark

    @property
    def through(self) -> int:
        """The mark once the fresh seqs are applied."""
        return self.fresh[-1] if self.fresh else self.mark


def sort_batch(mark: int, seqs: Sequence[int], after: int | None = None) -> Claim:
    """Sort a batch of an origin's seqs, read after the cursor ``after``, against its mark.

    ``after=None`` means the origin numbers without holes (a node's outbox): the batch must be
    contiguous and was read after the seq before its first. A batch starting beyond the mark
    would skip the changes in between, so it is a gap and nothing of it applies.
    """
    if any(later <= earlier for earlier, later in itertools.pairwise(seqs)):
        raise ValueError("a batch's seqs must ascend")
    if after is None:
        if seqs and seqs[-1] - seqs[0] != len(seqs) - 1:
            raise ValueError("a batch of a contiguous log must have no holes")
        after = seqs[0] - 1 if seqs else mark
    duplicates = sum(1 for seq in seqs if seq <= mark)
    if after > mark:
        return Claim(mark, (), duplicates, gap=True)
    return Claim(mark, tuple(seqs[duplicates:]), duplicates, gap=False)


class ChangeStore(Protocol):
    """One side's log and applied marks, bound to one open transaction of its database.

    Nothing commits by itself: the caller's transaction commits or rolls back everything done
    through the store together with the data it applied.
    """

    @property
    def contiguous(self) -> bool:
        """True when appended seqs have no holes (the outbox), False for a shared sequence."""
        ...

    async def append(self, changes: Sequence[NewChange], at: datetime) -> list[int]:
        """Add changes to the log in order; answer their seqs, ascending and above every seq
        committed before. Later appends wait until this transaction ends."""
        ...

    async def read_after(self, cursor: int, limit: int) -> list[StoredChange]:
        """Up to ``limit`` committed changes with ``seq > cursor``, in ascending seq."""
        ...

    async def applied_mark(self, origin: str) -> int:
        """The last seq of ``origin``'s log applied here (0 before any); ``UnknownOrigin``."""
        ...

    async def claim(self, origin: str, seqs: Sequence[int], after: int | None = None) -> Claim:
        """Lock ``origin``'s mark until the transaction ends and sort a batch against it
        (``sort_batch``); a second claim of the same origin waits for this transaction."""
        ...

    async def mark_applied(self, origin: str, through: int) -> int:
        """Move ``origin``'s mark to ``through`` with this transaction's applied data; the mark
        never moves back (a lower ``through`` leaves it). Answers the mark."""
        ...
