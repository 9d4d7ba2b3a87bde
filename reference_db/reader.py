"""Loads a ``RuleBook`` from a bundle's SQLite tables (a file or an in-memory build)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reference_db.bundle import open_read_only
from reference_db.rulebook import (
    Buffer,
    DepositRule,
    DistrictRule,
    FederalRegistry,
    GreaseRule,
    InsuranceRule,
    JurisdictionRules,
    PermitRule,
    QuietHours,
    RentalLimits,
    RuleBook,
    RuleSpec,
    ScheduledFee,
    Scope,
    ScopeLink,
    SeasonalRule,
    TaxRule,
    ZoningRule,
)
from sync.verdicts import Severity


def _rows(conn: sqlite3.Connection, table: str, order: str) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}')  # noqa: S608 - fixed names
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def _by_jurisdiction(
    conn: sqlite3.Connection, table: str, order: str = "rowid"
) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(conn, table, order):
        grouped[row["jurisdiction_id"]].append(row)
    return grouped


def _single(grouped: dict[str, list[dict[str, Any]]], jid: str) -> dict[str, Any] | None:
    rows = grouped.get(jid)
    return rows[0] if rows else None


def _list(text: str | None) -> frozenset[str]:
    return frozenset(text.split(";")) if text else frozenset()


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def load_rulebook(conn: sqlite3.Connection) -> RuleBook:
    """Read every table once and build the in-memory rule objects."""
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    tables = {
        name: _by_jurisdiction(conn, name)
        for name in (
            "permit_requirements",
            "insurance_requirements",
            "zoning_rules",
            "zoning_districts",
            "booking_taxes",
            "deposits",
            "rental_limits",
            "quiet_hours",
            "calendar_buffers",
            "grease_rules",
            "seasonal_restrictions",
            "renter_document_requirements",
            "fee_schedules",
            "rule_overrides",
        )
    }
    tables["permit_requirements"] = _by_jurisdiction(conn, "permit_requirements", "position")
    tables["booking_taxes"] = _by_jurisdiction(conn, "booking_taxes", "position")
    tables["renter_document_requirements"] = _by_jurisdiction(
        conn, "renter_document_requirements", "position"
    )
    jurisdictions = {
        row["id"]: _jurisdiction(row, tables) for row in _rows(conn, "jurisdictions", "id")
    }
    catalogue = {
        row["rule_id"]: RuleSpec(
            row["rule_id"],
            row["category"],
            row["outcome"],
            Severity(row["severity"]),
            row["description"],
        )
        for row in _rows(conn, "rules", "rule_id")
    }
    aliases = {
        row["alias"].lower(): row["jurisdiction_id"] for row in _rows(conn, "aliases", "alias")
    }
    return RuleBook(
        bundle_id=meta["bundle_id"],
        version=int(meta["version"]),
        jurisdictions=jurisdictions,
        aliases=aliases,
        catalogue=catalogue,
        federal=_federal(conn),
    )


def _jurisdiction(
    row: dict[str, Any], t: dict[str, dict[str, list[dict[str, Any]]]]
) -> JurisdictionRules:
    jid = row["id"]
    insurance = _single(t["insurance_requirements"], jid)
    zoning = _single(t["zoning_rules"], jid)
    deposit = _single(t["deposits"], jid)
    rental = _single(t["rental_limits"], jid)
    quiet = _single(t["quiet_hours"], jid)
    grease = _single(t["grease_rules"], jid)
    return JurisdictionRules(
        id=jid,
        name=row["name"],
        level=row["level"],
        rule_pack=row["rule_pack"],
        tz=ZoneInfo(row["timezone"]),
        health_code=row["health_code"],
        permits=tuple(
            PermitRule(p["kind"], _list(p["valid_statuses"]), p["expiry_warning_days"])
            for p in t["permit_requirements"].get(jid, [])
        ),
        insurance=InsuranceRule(
            insurance["liability_min_cents"],
            insurance["aggregate_min_cents"],
            insurance["additional_insured"],
            insurance["expiry_warning_days"],
        )
        if insurance
        else None,
        zoning=ZoningRule(
            bool(zoning["neighborhood_notice_required"]),
            zoning["notice_radius_feet"],
            zoning["notice_period_days"],
            bool(zoning["community_notice_required"]),
            zoning["community_notice_period_days"],
            _list(zoning["allowed_districts"]) or None,
            {
                d["district"].upper(): DistrictRule(
                    d["district"], d["name"], bool(d["neighborhood_notice_required"])
                )
                for d in t["zoning_districts"].get(jid, [])
            },
        )
        if zoning
        else None,
        taxes=tuple(
            TaxRule(
                x["code"],
                x["display_name"],
                Decimal(x["rate"]),
                _list(x["applies_to"]),
                x["citation"],
            )
            for x in t["booking_taxes"].get(jid, [])
        ),
        deposit=DepositRule(
            deposit["min_cents"], deposit["hold_window_hours"], deposit["refund_window_hours"]
        )
        if deposit
        else None,
        rental=RentalLimits(
            rental["max_hours_per_day"], rental["min_booking_hours"], rental["max_advance_days"]
        )
        if rental
        else None,
        quiet=QuietHours(
            time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"]), quiet["citation"]
        )
        if quiet
        else None,
        buffers={
            b["kind"]: Buffer(
                timedelta(minutes=b["buffer_before_minutes"]),
                timedelta(minutes=b["buffer_after_minutes"]),
            )
            for b in t["calendar_buffers"].get(jid, [])
        },
        grease=GreaseRule(grease["max_service_interval_days"], grease["due_soon_days"])
        if grease
        else None,
        seasonal=tuple(
            SeasonalRule(
                s["id"],
                s["product_type"],
                _month_day(s["start_month_day"]),
                _month_day(s["end_month_day"]),
                s["effect"],
                s["message"],
                s["citation"],
            )
            for s in t["seasonal_restrictions"].get(jid, [])
        ),
        renter_documents=tuple(d["kind"] for d in t["renter_document_requirements"].get(jid, [])),
        fee_schedule=tuple(
            ScheduledFee(
                f["fee_id"], f["name"], f["amount_cents"], f["kind"], f["cadence"], f["unit"]
            )
            for f in t["fee_schedules"].get(jid, [])
        ),
        overrides={
            o["rule_id"]: (Severity(o["severity"]), o["citation"])
            for o in t["rule_overrides"].get(jid, [])
        },
    )


def _federal(conn: sqlite3.Connection) -> FederalRegistry:
    return FederalRegistry(
        accreditation_bodies={
            r["id"]: r["name"] for r in _rows(conn, "accreditation_bodies", "id")
        },
        certification_bodies={
            r["id"]: r["name"] for r in _rows(conn, "certification_bodies", "id")
        },
        scopes={
            r["id"]: Scope(
                r["id"], r["code"], r["name"], r["cfr_citation"], bool(r["requires_certification"])
            )
            for r in _rows(conn, "scopes", "id")
        },
        links=tuple(
            ScopeLink(
                r["id"],
                r["accreditation_body_id"],
                r["certification_body_id"],
                r["scope_id"],
                r["valid_from"],
                r["valid_until"],
                r["status"],
            )
            for r in _rows(conn, "scope_links", "id")
        ),
        activity_scope={
            r["activity"]: r["scope_id"] for r in _rows(conn, "activity_scopes", "activity")
        },
    )


def open_rulebook(path: Path) -> RuleBook:
    """Load the rule book of a bundle file (read-only; the caller verifies it first)."""
    conn = open_read_only(path)
    try:
        return load_rulebook(conn)
    finally:
        conn.close()
