"""The declared shape of every reference source file: columns, types, keys and references.

Each source is one CSV file under ``reference_db/sources/``; its table in the bundle has the
same name and the same columns. Every row carries provenance in three trailing columns:
``source`` (where the fact came from), ``retrieved`` (YYYY-MM-DD) and ``trust``
(``verified | unverified | synthetic``).

Column kinds (all cells are text in the CSV; an empty cell is NULL where ``optional``):

- ``text``      free text
- ``id``        lower-case identifier ``[a-z0-9_]+``
- ``code``      identifier that may hold upper case and ``&`` (fee codes, permit kinds)
- ``int``       integer >= 0 (cents, hours, days, counts)
- ``bool``      ``true`` or ``false``
- ``date``      ``YYYY-MM-DD``
- ``rate``      decimal fraction between 0 and 1, e.g. ``0.0350``
- ``time``      ``HH:MM`` local wall time
- ``month_day`` ``MM-DD``
- ``list``      ``;``-separated identifiers
- ``tz``        an IANA time zone name
- ``enum:a|b``  one of the listed values
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVENANCE_COLUMNS = ("source", "retrieved", "trust")
TRUST_LEVELS = ("verified", "unverified", "synthetic")
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Column:
    """One column of a source file."""

    name: str
    kind: str
    optional: bool = False
    references: str | None = None  # "table.column" that must hold this value


@dataclass(frozen=True)
class SourceTable:
    """One source file and the bundle table built from it."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str
    order_by: tuple[str, ...] = field(default=())

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def all_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns) + PROVENANCE_COLUMNS


def _c(name: str, kind: str, *, optional: bool = False, ref: str | None = None) -> Column:
    return Column(name, kind, optional, ref)


_J = "jurisdictions.id"

TABLES: tuple[SourceTable, ...] = (
    SourceTable(
        "jurisdictions",
        (
            _c("id", "id"),
            _c("name", "text"),
            _c("level", "enum:city|county|state|federal"),
            _c("state", "text", optional=True),
            _c("county", "text", optional=True),
            _c("parent_id", "id", optional=True),
            _c("timezone", "tz"),
            _c("fips_code", "text", optional=True),
            _c("population", "int", optional=True),
            _c("health_department", "text", optional=True),
            _c("health_department_url", "text", optional=True),
            _c("health_code", "text", optional=True),
            _c("rule_pack", "enum:full|partial|none"),
        ),
        ("id",),
        "Every jurisdiction with its IANA zone and the health code cited by its permit rules.",
    ),
    SourceTable(
        "aliases",
        (_c("alias", "text"), _c("jurisdiction_id", "id", ref=_J)),
        ("alias",),
        "Lower-case names that resolve to a jurisdiction id (`sf`, `san francisco`).",
    ),
    SourceTable(
        "rules",
        (
            _c("rule_id", "code"),
            _c("category", "id"),
            _c("outcome", "enum:violation|condition|warning"),
            _c("severity", "enum:" + "|".join(SEVERITIES)),
            _c("description", "text"),
        ),
        ("rule_id",),
        "The rule catalogue: every rule id (or family, ending in `_*`) with its default severity.",
    ),
    SourceTable(
        "rule_overrides",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("rule_id", "code", ref="rules.rule_id"),
            _c("severity", "enum:" + "|".join(SEVERITIES)),
            _c("citation", "text", optional=True),
        ),
        ("jurisdiction_id", "rule_id"),
        "Per-jurisdiction severity and citation of a rule (or rule family).",
    ),
    SourceTable(
        "permit_requirements",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("kind", "code"),
            _c("position", "int"),
            _c("valid_statuses", "list"),
            _c("expiry_warning_days", "int"),
        ),
        ("jurisdiction_id", "kind"),
        "Site permits a jurisdiction requires, checked in `position` order.",
        ("jurisdiction_id", "position"),
    ),
    SourceTable(
        "insurance_requirements",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("liability_min_cents", "int"),
            _c("aggregate_min_cents", "int"),
            _c("additional_insured", "text", optional=True),
            _c("workers_comp_required", "bool"),
            _c("expiry_warning_days", "int"),
        ),
        ("jurisdiction_id",),
        "Renter insurance minimums and the additional-insured phrase.",
    ),
    SourceTable(
        "zoning_rules",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("neighborhood_notice_required", "bool"),
            _c("notice_radius_feet", "int", optional=True),
            _c("notice_period_days", "int", optional=True),
            _c("community_notice_required", "bool"),
            _c("community_notice_period_days", "int", optional=True),
            _c("allowed_districts", "list", optional=True),
        ),
        ("jurisdiction_id",),
        "Neighbourhood and community notice rules and the districts where a kitchen may operate.",
    ),
    SourceTable(
        "zoning_districts",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("district", "code"),
            _c("name", "text"),
            _c("requires_conditional_use", "bool"),
            _c("neighborhood_notice_required", "bool"),
        ),
        ("jurisdiction_id", "district"),
        "Per-district overrides of the neighbourhood-notice rule.",
    ),
    SourceTable(
        "booking_taxes",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("code", "code"),
            _c("display_name", "text"),
            _c("rate", "rate"),
            _c("applies_to", "list"),
            _c("position", "int"),
            _c("citation", "text", optional=True),
            _c("remittance_url", "text", optional=True),
        ),
        ("jurisdiction_id", "code"),
        "Percentage taxes on a booking; `applies_to` lists base, cleaning, platform_fee.",
        ("jurisdiction_id", "position"),
    ),
    SourceTable(
        "deposits",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("min_cents", "int"),
            _c("hold_window_hours", "int"),
            _c("refund_window_hours", "int"),
        ),
        ("jurisdiction_id",),
        "Security deposit held separately from the booking total.",
    ),
    SourceTable(
        "rental_limits",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("max_hours_per_day", "int"),
            _c("min_booking_hours", "int"),
            _c("max_advance_days", "int"),
        ),
        ("jurisdiction_id",),
        "Daily hour cap per facility (all bookings of a local day), minimum length, advance limit.",
    ),
    SourceTable(
        "quiet_hours",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("start", "time"),
            _c("end", "time"),
            _c("max_decibels_day", "int", optional=True),
            _c("max_decibels_night", "int", optional=True),
            _c("citation", "text", optional=True),
        ),
        ("jurisdiction_id",),
        "Quiet hours in local wall time; `end` at or before `start` crosses midnight.",
    ),
    SourceTable(
        "calendar_buffers",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("kind", "enum:health|fire|maintenance"),
            _c("frequency_months", "int", optional=True),
            _c("buffer_before_minutes", "int"),
            _c("buffer_after_minutes", "int"),
        ),
        ("jurisdiction_id", "kind"),
        "Inspection and maintenance windows with asymmetric buffers before and after.",
    ),
    SourceTable(
        "grease_rules",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("interceptor_required", "bool"),
            _c("max_service_interval_days", "int"),
            _c("due_soon_days", "int"),
            _c("manifest_required", "bool"),
        ),
        ("jurisdiction_id",),
        "Grease interceptor service interval and the due-soon warning window.",
    ),
    SourceTable(
        "seasonal_restrictions",
        (
            _c("id", "id"),
            _c("jurisdiction_id", "id", ref=_J),
            _c("product_type", "id"),
            _c("start_month_day", "month_day"),
            _c("end_month_day", "month_day"),
            _c("effect", "enum:prohibited|notice"),
            _c("message", "text"),
            _c("citation", "text", optional=True),
        ),
        ("id",),
        "Yearly date ranges (inclusive, may wrap the new year) restricting a product type.",
    ),
    SourceTable(
        "renter_document_requirements",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("kind", "id"),
            _c("position", "int"),
        ),
        ("jurisdiction_id", "kind"),
        "Documents a renter must hold, approved and unexpired, for a booking.",
        ("jurisdiction_id", "position"),
    ),
    SourceTable(
        "fee_schedules",
        (
            _c("jurisdiction_id", "id", ref=_J),
            _c("fee_id", "id"),
            _c("name", "text"),
            _c("amount_cents", "int"),
            _c("kind", "enum:one_time|recurring|incremental"),
            _c("cadence", "enum:annual|semi_annual|quarterly|monthly", optional=True),
            _c("unit", "text", optional=True),
        ),
        ("jurisdiction_id", "fee_id"),
        "Permit and programme fees a kitchen operator pays (one-time, recurring, per event).",
    ),
    SourceTable(
        "accreditation_bodies",
        (
            _c("id", "int"),
            _c("code", "code"),
            _c("name", "text"),
            _c("url", "text", optional=True),
            _c("email", "text", optional=True),
        ),
        ("id",),
        "FDA-recognised accreditation bodies (21 CFR Part 1, Subpart M).",
    ),
    SourceTable(
        "certification_bodies",
        (
            _c("id", "int"),
            _c("name", "text"),
            _c("url", "text", optional=True),
            _c("email", "text", optional=True),
        ),
        ("id",),
        "Third-party certification bodies.",
    ),
    SourceTable(
        "scopes",
        (
            _c("id", "int"),
            _c("code", "code"),
            _c("name", "text"),
            _c("cfr_citation", "text"),
            _c("program", "text"),
            _c("guidance_url", "text", optional=True),
            _c("final_rule_date", "date", optional=True),
            _c("enforcement_date", "date", optional=True),
            _c("requires_certification", "bool"),
        ),
        ("id",),
        "Food-safety programme scopes with their CFR anchors.",
    ),
    SourceTable(
        "scope_links",
        (
            _c("id", "int"),
            _c("accreditation_body_id", "int", ref="accreditation_bodies.id"),
            _c("certification_body_id", "int", ref="certification_bodies.id"),
            _c("scope_id", "int", ref="scopes.id"),
            _c("valid_from", "date"),
            _c("valid_until", "date"),
            _c("status", "enum:active|suspended|expired|pending|withdrawn"),
        ),
        ("id",),
        "Accreditation body -> certification body -> scope recognitions with validity dates.",
    ),
    SourceTable(
        "activity_scopes",
        (_c("activity", "id"), _c("scope_id", "int", ref="scopes.id")),
        ("activity",),
        "Which federal scope a renter activity or product type falls under.",
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}
