"""What the terminal keeps about the site between calls: the site, its stations, its renters.

Loaded after sign-in and on refresh; screens look names up here instead of asking the edge for
each booking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sync.shapes.site import RenterOut, ResourceOut, SiteOut
from tui.client import EdgeClient

UTC = ZoneInfo("UTC")


@dataclass
class SiteDirectory:
    site: SiteOut | None = None
    resources: list[ResourceOut] = field(default_factory=list)
    renters: list[RenterOut] = field(default_factory=list)

    @classmethod
    async def load(cls, edge: EdgeClient) -> SiteDirectory:
        site = await edge.site()
        return cls(site, await edge.resources(), await edge.renters())

    @property
    def tz(self) -> ZoneInfo:
        """The site's zone (UTC until the site is known)."""
        return ZoneInfo(self.site.timezone) if self.site else UTC

    @property
    def site_name(self) -> str:
        return self.site.name if self.site else "Prep"

    def renter_names(self) -> dict[str, str]:
        return {renter.id: renter.name for renter in self.renters}

    def renter_name(self, renter_id: str) -> str:
        return self.renter_names().get(renter_id, f"renter {renter_id[:8]}")

    def resource_name(self, resource_id: str) -> str:
        names = {resource.id: resource.name for resource in self.resources}
        return names.get(resource_id, f"station {resource_id[:8]}")

    def renters_named(self, query: str) -> set[str]:
        """Ids of renters whose name contains ``query`` (case ignored)."""
        wanted = query.strip().casefold()
        return {r.id for r in self.renters if wanted and wanted in r.name.casefold()}
