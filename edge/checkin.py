"""Check-in at the door: the booking's compliance verdict from the local bundle, then the state.

The scenario is assembled from what the node holds: the site's profile (permits, zoning,
grease, inspections, maintenance), the renter's profile and documents, the booking, and the
day's other bookings at the site. DENY refuses the check-in (412) unless a host or admin gives
an override reason, which is stored with the verdict and audited.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from edge.bookings import booking_state
from edge.clock import epoch_ms
from edge.columns import insert_row, update_row, utc_text
from edge.db import raw_connection
from edge.errors import ComplianceDenied, Forbidden
from edge.journal import Tx
from edge.observability import count_verdict
from edge.services import EdgeServices, SiteInfo
from edge.tables import Booking, CheckIn
from reference_db.compliance import evaluate
from sync.ids import uuid7
from sync.scenarios import Scenario, Window
from sync.verdicts import Outcome, Verdict
from sync.vocabulary import BookingStatus, Role

MOVED_COLUMNS = (
    "status",
    "confirmed_hlc",
    "updated_at",
    "updated_hlc",
)  # what a state move changes
OVERRIDE_ROLES = (Role.ADMIN, Role.HOST)


_RENTER_PROFILE = "SELECT profile FROM renter WHERE id = ?"
_RENTER_DOCUMENTS = (
    "SELECT kind, review_status, expires_at FROM document"
    " WHERE owner_kind = 'renter' AND owner_id = ?"
)
_SAME_DAY = (
    "SELECT starts_at, ends_at FROM booking WHERE renter_id = ? AND id != ?"
    " AND starts_at < ? AND ends_at > ? AND status IN ('confirmed', 'checked_in', 'checked_out')"
)


def scenario_for(
    raw: sqlite3.Connection,
    site: SiteInfo,
    profile: dict[str, Any],
    booking: Booking,
    now: datetime,
) -> Scenario:
    """The compliance scenario of ``booking`` from what this node holds (plain reads)."""
    row = raw.execute(_RENTER_PROFILE, (booking.renter_id,)).fetchone()
    renter: dict[str, Any] = json.loads(row[0]) if row else {}
    stored = raw.execute(_RENTER_DOCUMENTS, (booking.renter_id,)).fetchall()
    renter["documents"] = list(renter.get("documents") or []) + [  # every document the node holds
        {"kind": kind, "status": status, "expires_at": expires} for kind, status, expires in stored
    ]
    return Scenario.model_validate(
        {
            "jurisdiction": site.jurisdiction,
            "as_of": now.isoformat(),
            "site": profile,
            "renter": renter,
            "booking": {"start": booking.starts_at.isoformat(), "end": booking.ends_at.isoformat()},
            "same_day_bookings": _same_day(raw, site, booking),
        }
    )


def _same_day(raw: sqlite3.Connection, site: SiteInfo, booking: Booking) -> list[Window]:
    """The renter's other bookings at this site on the booking's local days (the engine clips them).

    The daily cap is per renter and facility: another renter's station time never counts
    against this one. Built without re-validation: they are this node's own committed rows.
    """
    first_day = booking.starts_at.astimezone(site.timezone).date()
    last_day = booking.ends_at.astimezone(site.timezone).date()
    rows = raw.execute(
        _SAME_DAY,
        (
            booking.renter_id,
            booking.id,
            utc_text(_local_midnight(last_day + timedelta(days=1), site)),
            utc_text(_local_midnight(first_day, site)),
        ),
    ).fetchall()
    return [
        Window.model_construct(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end))
        for start, end in rows
    ]


def _local_midnight(day: date, site: SiteInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=site.timezone)


async def verdict_now(services: EdgeServices, session: AsyncSession, booking: Booking) -> Verdict:
    now = services.clock.now()
    raw = await raw_connection(session)
    row = raw.execute("SELECT profile FROM site WHERE id = ?", (services.site.id,)).fetchone()
    profile = json.loads(row[0]) if row else {}
    scenario = scenario_for(raw, services.site, profile, booking, now)
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
    update_row(tx.raw, booking, MOVED_COLUMNS)
    entry = CheckIn(
        id=str(uuid7(epoch_ms(tx.now))),
        booking_id=booking.id,
        result=verdict.result.value,
        verdict=verdict.model_dump(mode="json"),
        staff_user_id=tx.actor.user_id,
        override_reason=used_override,
        checked_in_at=tx.now,
    )
    insert_row(tx.raw, entry)
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
