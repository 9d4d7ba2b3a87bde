"""Gathering the inspector packet from the edge (no hub needed) and saving it beside the others.

Site and permits, the site's documents, today's renters on site with their verdict now, and the
audit events of the last 30 days; rendered by ``tui.packet``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tui import schedule
from tui.audit_log import events_since
from tui.client import EdgeClient
from tui.directory import SiteDirectory
from tui.packet import Packet, Visit, file_name, render, write_atomically

AUDIT_DAYS = 30
ON_SITE = frozenset({"confirmed", "checked_in", "checked_out"})


async def collect(edge: EdgeClient, directory: SiteDirectory, now: datetime) -> Packet:
    site = await edge.site()
    fresh = SiteDirectory(site, directory.resources, directory.renters)
    day = now.astimezone(fresh.tz).date()
    bookings = await edge.bookings(*schedule.day_bounds(day, fresh.tz))
    visits = []
    for booking in sorted(bookings, key=lambda b: (b.start, b.resource_id)):
        if booking.status in ON_SITE:
            visits.append(
                Visit(
                    renter=fresh.renter_name(booking.renter_id),
                    station=fresh.resource_name(booking.resource_id),
                    start=booking.start,
                    end=booking.end,
                    status=booking.status,
                    verdict=await edge.compliance(booking.id),
                )
            )
    reference = await edge.reference()
    return Packet(
        site=site,
        day=day,
        generated_at=now,
        reference=f"v{reference.reference_version}",
        documents=await edge.documents("site"),
        visits=visits,
        audit=await events_since(edge, now - timedelta(days=AUDIT_DAYS)),
    )


async def export_packet(
    edge: EdgeClient, directory: SiteDirectory, now: datetime, folder: Path
) -> Path:
    """Collect, render and write today's packet; its path."""
    packet = await collect(edge, directory, now)
    path = folder / file_name(packet.day)
    write_atomically(path, render(packet))
    return path
