"""Seeds a node directly through the journal (independent of the site and renter endpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from edge.clock import epoch_ms
from edge.journal import SYSTEM
from edge.services import EdgeServices
from edge.tables import Renter, Resource, Site
from sync.ids import uuid7

COMPLIANT_SITE: dict[str, Any] = {
    "permits": [
        {"kind": k, "status": "active", "expires_at": "2027-12-31"}
        for k in ("shared_kitchen", "fire", "ventilation", "health_permit")
    ],
    "zoning": {"district": "PDR", "neighborhood_notice_doc_id": "notice-1"},
    "ada_accessible": True,
}
COMPLIANT_RENTER: dict[str, Any] = {
    "insurance": {
        "general_liability_cents": 100_000_000,
        "aggregate_cents": 200_000_000,
        "additional_insured_text": "City and County of San Francisco",
    },
    "documents": [{"kind": "food_handler_card", "status": "approved", "expires_at": "2027-12-31"}],
}


@dataclass(frozen=True)
class Seeded:
    site_id: str
    resource_id: str
    other_resource_id: str
    renter_id: str
    uninsured_renter_id: str


async def seed(services: EdgeServices) -> Seeded:
    now = services.clock.now()
    ids = [str(uuid7(epoch_ms(now))) for _ in range(4)]
    async with services.journal.write(SYSTEM, now) as tx:
        site = (await tx.session.exec(select(Site))).one()
        site.profile = COMPLIANT_SITE
        tx.session.add(site)
        for rid, name in ((ids[0], "Station 1"), (ids[1], "Station 2")):
            tx.session.add(
                Resource(
                    id=rid,
                    site_id=site.id,
                    name=name,
                    kind="station",
                    hourly_rate_cents=3_000,
                    created_at=now,
                    updated_hlc=tx.stamp(),
                )
            )
        tx.session.add(
            Renter(
                id=ids[2],
                name="Artisan Bakery",
                profile=COMPLIANT_RENTER,
                created_at=now,
                updated_hlc=tx.stamp(),
            )
        )
        tx.session.add(
            Renter(
                id=ids[3], name="Startup Foods", profile={}, created_at=now, updated_hlc=tx.stamp()
            )
        )
    return Seeded(site.id, ids[0], ids[1], ids[2], ids[3])
