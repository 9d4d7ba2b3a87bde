"""What every check needs for one evaluation: the rules, the scenario in UTC, and ``emit``.

Instants are placed in the jurisdiction's zone once, here; checks never see a naive datetime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from reference_db.errors import InvalidScenario
from reference_db.localtime import WallSegment, to_utc, wall_segments
from reference_db.rulebook import JurisdictionRules, RuleBook
from sync.scenarios import Scenario
from sync.verdicts import RuleResult

_NOT_ID = re.compile(r"[^A-Z0-9_]")


def rule_suffix(name: str) -> str:
    """``health_permit`` -> ``HEALTH_PERMIT``, ``B&O`` -> ``BO``, ``TFE`` -> ``TFE``."""
    return _NOT_ID.sub("", name.strip().upper().replace(" ", "_"))


def dollars(cents: int) -> str:
    """Whole dollars without separators (as the earlier messages), cents only when present."""
    whole, rest = divmod(cents, 100)
    return f"${whole}" if rest == 0 else f"${whole}.{rest:02d}"


@dataclass
class Context:
    book: RuleBook
    rules: JurisdictionRules
    scenario: Scenario
    as_of: datetime
    violations: list[RuleResult] = field(default_factory=list)
    conditions: list[RuleResult] = field(default_factory=list)
    warnings: list[RuleResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        booking = self.scenario.booking
        self.start = self.instant(booking.start)
        self.end = self.instant(booking.end)
        if self.end <= self.start:
            raise InvalidScenario("booking end must be after its start")
        self.segments: tuple[WallSegment, ...] = wall_segments(self.start, self.end, self.rules.tz)

    def instant(self, value: datetime) -> datetime:
        """An aware UTC instant; naive values are wall times of the jurisdiction."""
        return to_utc(value, self.rules.tz)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.rules.tz)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def emit(
        self, rule_id: str, message: str, remedy: str | None, citation: str | None = None
    ) -> None:
        """Record a rule result where the catalogue says it belongs, at its severity."""
        spec = self.book.spec(rule_id)
        # A family override (PERMIT_*) covers the family's members, not rules of their own
        # that share the prefix (PERMIT_EXPIRING is a warning with its own catalogue entry).
        override = self.rules.overrides.get(rule_id) or self.rules.overrides.get(spec.rule_id)
        severity = spec.severity
        if override is not None:
            severity, citation = override[0], override[1] or citation
        item = RuleResult(
            rule_id=rule_id, severity=severity, message=message, remedy=remedy, citation=citation
        )
        {"violation": self.violations, "condition": self.conditions, "warning": self.warnings}[
            spec.outcome
        ].append(item)
