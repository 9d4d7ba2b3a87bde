"""The compliant San Francisco site and renter the edge benchmarks book and check in."""

from __future__ import annotations

from typing import Any

COMPLIANT_SITE: dict[str, Any] = {
    "permits": [
        {"kind": k, "status": "active"}
        for k in ("shared_kitchen", "fire", "ventilation", "health_permit")
    ],
    "zoning": {"district": "PDR", "neighborhood_notice_doc_id": "notice-1"},
    "ada_accessible": True,
}
COMPLIANT_RENTER: dict[str, Any] = {
    "name": "Bench Bakery",
    "email": "bench@example.com",
    "phone": "+14155550100",
    "insurance": {
        "general_liability_cents": 100_000_000,
        "aggregate_cents": 200_000_000,
        "additional_insured_text": "City and County of San Francisco",
    },
    "documents": [{"kind": "food_handler_card", "status": "approved"}],
}
