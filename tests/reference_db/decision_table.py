"""Reads the second engine's 36-scenario decision table into our scenario format.

The table's world differs from ours in known ways, each named where it is handled:
its fixtures had no ``health_permit`` (config.yaml requires one: we supply it), its reason ids
are dotted (mapped to our rule ids below), and coverage is in whole dollars.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

AS_OF = "2025-11-05T09:00:00Z"
PERMIT_VALID_UNTIL = "2026-12-31"

REASONS = {
    "zoning.notice.required": "ZONING_NOTICE",
    "community.notice.required": "COMMUNITY_NOTICE",
    "sound.quiet_hours": "SOUND_QUIET_HOURS",
    "rental.limit.daily_cap_near": "RENTAL_LIMIT_DAILY",
    "insurance.additional_insured.mismatch": "INSURANCE_ADDITIONAL_INSURED",
    "insurance.aggregate.min": "INSURANCE_AGGREGATE",
    "calendar.inspection.conflict": "INSPECTION_CONFLICT",
    "calendar.maintenance.conflict": "MAINTENANCE_CONFLICT",
    "calendar.maintenance.buffer_required": "MAINTENANCE_BUFFER",
    "ada.accessibility.required": "ADA_ACCESSIBILITY",
    "grease.service.overdue": "GREASE_MAINTENANCE",
    "seasonal.restriction.notice": "SEASONAL_NOTICE",
    "inspection.failed.unlisted": "INSPECTION_FAILED",
    "fees.bo.assessed": "FEES_BO",
}
LODGING_TAX = {"portland": "FEES_LODGING", "seattle": "FEES_KINGCOUNTYLODGING"}
VERDICTS = {"ALLOW": "ALLOW", "ALLOW_WITH_CONDITIONS": "CONDITIONS", "DENY": "DENY"}


def rule_id(reason: str, city: str) -> str:
    if reason == "fees.lodging.assessed":
        return LODGING_TAX[city]
    if reason.startswith("permit.") and reason.endswith(".missing"):
        return "PERMIT_" + reason.split(".")[1].upper()
    return REASONS[reason]


def to_scenario(case: dict[str, Any]) -> dict[str, Any]:
    kitchen, maker, booking = case["kitchen"], case["maker"], case["booking"]
    return {
        "jurisdiction": case["city"],
        "as_of": AS_OF,
        "site": _site(kitchen),
        "renter": {
            "insurance": {
                "general_liability_cents": maker["coi"].get("general", 0) * 100,
                "aggregate_cents": maker["coi"].get("aggregate", 0) * 100,
                "additional_insured_text": maker["coi"].get("ai"),
            },
            "requires_ada_access": maker.get("requires_ada", False),
        },
        "booking": booking,
        "same_day_bookings": _earlier_hours(booking["start"], kitchen.get("hours_booked_today", 0)),
    }


def _site(kitchen: dict[str, Any]) -> dict[str, Any]:
    kinds = [*kitchen["permits"], "health_permit"]  # absent from the table's fixtures
    zoning = kitchen.get("zoning", {})
    site: dict[str, Any] = {
        "permits": [
            {"kind": k, "status": "active", "expires_at": PERMIT_VALID_UNTIL} for k in kinds
        ],
        "zoning": {
            "district": zoning.get("code"),
            "neighborhood_notice_doc_id": "notice-1" if zoning.get("notice_doc") else None,
            "community_notice_doc_id": "community-1"
            if kitchen.get("community_notice_doc")
            else None,
        },
        "ada_accessible": kitchen.get("ada_accessible", True),
        "inspections": [],
        "maintenance": [kitchen["maintenance"]] if "maintenance" in kitchen else [],
    }
    if "inspection" in kitchen:
        site["inspections"].append({"kind": "health", **kitchen["inspection"]})
    if kitchen.get("inspection_result"):
        site["inspections"].append(
            {
                "kind": "health",
                "start": "2025-10-01T09:00:00",
                "end": "2025-10-01T10:00:00",
                "result": kitchen["inspection_result"],
            }
        )
    if kitchen.get("grease_overdue"):
        site["grease"] = {"last_service_at": "2025-01-02T08:00:00"}
    return site


def _earlier_hours(start: str, hours: int) -> list[dict[str, str]]:
    """Other bookings of the same local day, from midnight, totalling ``hours``."""
    if not hours:
        return []
    midnight = datetime.fromisoformat(start).replace(hour=0, minute=0)
    return [{"start": midnight.isoformat(), "end": (midnight + timedelta(hours=hours)).isoformat()}]
