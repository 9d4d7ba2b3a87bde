"""Check-in at the door: the booking's compliance verdict from the local bundle, then the state.

The scenario is assembled from what the node holds: the site's profile (permits, zoning,
grease, inspections, maintenance), the renter's profile and documents, the booking, and the
day's other bookings at the site. DENY refuses the check-in (412) unless a host or admin gives
an override reason, which is stored with the verdict and audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.bookings import booking_state
from edge.clock import epoch_ms
from edge.errors import ComplianceDenied, Forbidden
from edge.journal import Tx
from edge.observability import count_verdict
from edge.services import EdgeServices
from edge.site_service import load_site
from edge.tables import Booking, CheckIn, Document, Renter, Site
from reference_db.compliance import evaluate
from sync.ids import uuid7
from sync.scenarios import Scenario
from sync.verdicts import Outcome, Verdict
from sync.vocabulary import BookingStatus, Role

OVERRIDE_ROLES = (Role.ADMIN, Role.HOST)


async def scenario_for(
    session: AsyncSession, site: Site, booking: Booking, now: datetime
) -> Scenario:
    renter = await session.get(Renter, booking.renter_id)
    profile: dict[str, Any] = dict(renter.profile) if renter else {}
    stored = (
        await session.exec(
            select(Document).where(
                col(Document.owner_kind) == "renter", col(Document.owner_id) == booking.renter_id
            )
        )
    ).all()
    documents = list(profile.get("documents") or []) + [
        {
            "kind": d.kind,
            "status": d.review_status,
            "expires_at": d.expires_at.isoformat() if d.expires_at else None,
        }
        for d in stored
    ]
    profile["documents"] = documents  # the node knows every document it holds: none is "none"
    return Scenario.model_validate(
        {
            "jurisdiction": site.jurisdiction,
            "as_of": now.isoformat(),
            "site": site.profile,
            "renter": profile,
            "booking": {"start": booking.starts_at.isoformat(), "end": booking.ends_at.isoformat()},
            "same_day_bookings": await _same_day(session, site, booking),
        }
    )


async def _same_day(session: AsyncSession, site: Site, booking: Booking) -> list[dict[str, str]]:
    tz = ZoneInfo(site.timezone)
    day_start = booking.starts_at.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    others = (
        await session.exec(
            select(Booking).where(
                col(Booking.id) != booking.id,
                col(Booking.starts_at) < day_start + timedelta(days=2),
                col(Booking.ends_at) > day_start - timedelta(days=1),
                col(Booking.status).in_(
                    [
                        s.value
                        for s in (
                            BookingStatus.CONFIRMED,
                            BookingStatus.CHECKED_IN,
                            BookingStatus.CHECKED_OUT,
                        )
                    ]
                ),
            )
        )
    ).all()
    return [{"start": o.starts_at.isoformat(), "end": o.ends_at.isoformat()} for o in others]


async def verdict_now(services: EdgeServices, session: AsyncSession, booking: Booking) -> Verdict:
    now = services.clock.now()
    site = await load_site(session)
    scenario = await scenario_for(session, site, booking, now)
    return evaluate(scenario, services.reference.rulebook, now)


async def check_in(
    services: EdgeServices, tx: Tx, booking: Booking, override_reason: str | None
) -> tuple[Verdict, str | None]:
    """Evaluate and, unless refused, move the booking to checked_in (inside ``tx``)."""
    verdict = await verdict_now(services, tx.session, booking)
    count_verdict(services, verdict.result.value)
    used_override = None
    if verdict.result is Outcome.DENY:
        if override_reason is None:
            raise ComplianceDenied(
                "check-in refused: the booking does not comply",
                {"verdict": verdict.model_dump(mode="json")},
            )
        if tx.actor.role not in OVERRIDE_ROLES:
            raise Forbidden("only a host may override a refusal")
        used_override = override_reason
    booking.status = BookingStatus.CHECKED_IN.value
    booking.updated_at = tx.now
    booking.updated_hlc = tx.stamp()
    tx.session.add(booking)
    entry = CheckIn(
        id=str(uuid7(epoch_ms(tx.now))),
        booking_id=booking.id,
        result=verdict.result.value,
        verdict=verdict.model_dump(mode="json"),
        staff_user_id=tx.actor.user_id,
        override_reason=used_override,
        checked_in_at=tx.now,
    )
    tx.session.add(entry)
    details = {
        "result": verdict.result.value,
        "override_reason": used_override,
        "rules": [v.rule_id for v in verdict.violations],
    }
    tx.record("booking.check_in", "booking", booking.id, details, state=booking_state(booking))
    tx.record(
        "check_in.create",
        "check_in",
        entry.id,
        {"booking_id": booking.id},
        state=entry.model_dump(mode="json"),
    )
    return verdict, used_override
