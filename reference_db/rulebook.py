"""The rules of every jurisdiction, loaded once from a bundle into plain immutable objects.

The engines read only these objects, never SQL, so an evaluation touches no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from reference_db.errors import UnknownJurisdiction
from sync.verdicts import Severity


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    category: str
    outcome: str  # violation | condition | warning
    severity: Severity
    description: str


@dataclass(frozen=True)
class PermitRule:
    kind: str  # as the rule pack names it: "fire", "health_permit", "TFE"
    valid_statuses: frozenset[str]
    expiry_warning_days: int

    @cached_property
    def match_key(self) -> str:
        return permit_match_key(self.kind)

    @cached_property
    def expiry_warning(self) -> timedelta:
        return timedelta(days=self.expiry_warning_days)


@lru_cache(maxsize=1024)
def permit_match_key(kind: str) -> str:
    """``fire``, ``fire_permit`` and ``FIRE`` name the same permit; so do ``TFE`` and ``tfe``."""
    key = kind.strip().lower()
    return key.removesuffix("_permit") or key


@dataclass(frozen=True)
class InsuranceRule:
    liability_min_cents: int
    aggregate_min_cents: int
    additional_insured: str | None
    expiry_warning_days: int


@dataclass(frozen=True)
class DistrictRule:
    district: str
    name: str
    neighborhood_notice_required: bool


@dataclass(frozen=True)
class ZoningRule:
    neighborhood_notice_required: bool
    notice_radius_feet: int | None
    notice_period_days: int | None
    community_notice_required: bool
    community_notice_period_days: int | None
    allowed_districts: frozenset[str] | None
    districts: dict[str, DistrictRule] = field(default_factory=dict)


@dataclass(frozen=True)
class TaxRule:
    code: str
    display_name: str
    rate: Decimal
    applies_to: frozenset[str]
    citation: str | None


@dataclass(frozen=True)
class DepositRule:
    min_cents: int
    hold_window_hours: int
    refund_window_hours: int


@dataclass(frozen=True)
class RentalLimits:
    max_hours_per_day: int
    min_booking_hours: int
    max_advance_days: int


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    citation: str | None

    @cached_property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Buffer:
    before: timedelta
    after: timedelta


@dataclass(frozen=True)
class GreaseRule:
    max_service_interval_days: int
    due_soon_days: int


@dataclass(frozen=True)
class SeasonalRule:
    id: str
    product_type: str
    start: tuple[int, int]  # (month, day), inclusive
    end: tuple[int, int]  # (month, day), inclusive; before start means the window wraps the year
    effect: str  # prohibited | notice
    message: str
    citation: str | None


@dataclass(frozen=True)
class ScheduledFee:
    fee_id: str
    name: str
    amount_cents: int
    kind: str  # one_time | recurring | incremental
    cadence: str | None
    unit: str | None


@dataclass(frozen=True)
class JurisdictionRules:
    id: str
    name: str
    level: str
    rule_pack: str
    tz: ZoneInfo
    health_code: str | None
    permits: tuple[PermitRule, ...] = ()
    insurance: InsuranceRule | None = None
    zoning: ZoningRule | None = None
    taxes: tuple[TaxRule, ...] = ()
    deposit: DepositRule | None = None
    rental: RentalLimits | None = None
    quiet: QuietHours | None = None
    buffers: dict[str, Buffer] = field(default_factory=dict)
    grease: GreaseRule | None = None
    seasonal: tuple[SeasonalRule, ...] = ()
    renter_documents: tuple[str, ...] = ()
    fee_schedule: tuple[ScheduledFee, ...] = ()
    overrides: dict[str, tuple[Severity, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    id: int
    code: str
    name: str
    cfr_citation: str
    requires_certification: bool


@dataclass(frozen=True)
class ScopeLink:
    id: int
    accreditation_body_id: int
    certification_body_id: int
    scope_id: int
    valid_from: str  # YYYY-MM-DD, inclusive
    valid_until: str  # YYYY-MM-DD, exclusive
    status: str


@dataclass(frozen=True)
class FederalRegistry:
    accreditation_bodies: dict[int, str]
    certification_bodies: dict[int, str]
    scopes: dict[int, Scope]
    links: tuple[ScopeLink, ...]
    activity_scope: dict[str, int]

    def scope_by_code(self, code: str) -> Scope | None:
        wanted = code.strip().upper()
        return next((s for s in self.scopes.values() if s.code == wanted), None)


@dataclass(frozen=True)
class RuleBook:
    """Everything the engines need, for every jurisdiction of one bundle."""

    bundle_id: str
    version: int
    jurisdictions: dict[str, JurisdictionRules]
    aliases: dict[str, str]
    catalogue: dict[str, RuleSpec]
    federal: FederalRegistry

    @property
    def ruleset_version(self) -> str:
        return f"{self.bundle_id}@{self.version}"

    def resolve(self, name: str) -> JurisdictionRules:
        """Find a jurisdiction by id or alias (``sf``, ``San Francisco``)."""
        key = " ".join(name.strip().lower().split())
        found = self.aliases.get(key) or self.aliases.get(key.replace(" ", "_")) or key
        rules = self.jurisdictions.get(found)
        if rules is None:
            raise UnknownJurisdiction(name)
        return rules

    def spec(self, rule_id: str) -> RuleSpec:
        """The catalogue entry of a rule id, falling back to its family (``PERMIT_*``)."""
        spec = self.catalogue.get(rule_id)
        if spec is None:
            spec = self.catalogue[rule_id.split("_", 1)[0] + "_*"]
        return spec
