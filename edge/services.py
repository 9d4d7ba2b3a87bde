"""The collaborators a running edge hands to its handlers, built once in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from edge.clock import Clock
from edge.db import Database
from edge.journal import Journal
from edge.pii import PiiCipher
from edge.settings import EdgeSettings
from reference_db.rulebook import RuleBook


@dataclass
class ReferenceData:
    """The verified rule book in use; swapped whole when a newer bundle is installed."""

    rulebook: RuleBook
    version: int
    expires_at: str


@dataclass(frozen=True)
class SiteInfo:
    """What never changes about this node's site once it is initialised."""

    id: str
    jurisdiction: str
    timezone: ZoneInfo


@dataclass
class EdgeServices:
    settings: EdgeSettings
    clock: Clock
    db: Database
    journal: Journal
    pii: PiiCipher
    reference: ReferenceData
    site: SiteInfo
    counters: dict[str, int] = field(default_factory=dict)
