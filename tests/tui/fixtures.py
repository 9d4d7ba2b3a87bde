"""Staff terminal test fixtures (registered by conftest.py): a seeded edge, terminals on it.

The edge comes from ``tests.edge.conftest`` (a fresh node per test on a fixed clock: Wednesday
5 November 2025, 08:00 in San Francisco) and ``tests.edge.seed`` (two stations, a compliant
renter and one without insurance). ``kitchen`` adds today's bookings under fixed ids, a host and
a staff login and a few documents; ``terminal`` builds a ``StaffApp`` whose HTTP client is the
edge's ``AsyncTestClient``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.clock import FixedClock, epoch_ms
from edge.journal import SYSTEM
from edge.services import EdgeServices
from edge.tables import Booking, Conflict
from sync.ids import uuid7
from sync.vocabulary import Role
from tests.edge.conftest import START, Login
from tests.edge.seed import Seeded, seed
from tui.app import StaffApp
from tui.client import EdgeClient, HttpClient

STAFF, HOST = "door", "manager"
PDF = b"%PDF-1.4\n% a test document\n%%EOF\n"


def fixed_id(n: int) -> str:
    """A UUIDv7 stamped at START whose random part is fixed, so screens show stable codes."""
    return str(uuid7(epoch_ms(START), lambda size: bytes([n]) * size))


ALLOW_BOOKING = fixed_id(0x11)  # Artisan Bakery, Station 1, 10:00-14:00: compliant
DENY_BOOKING = fixed_id(0x22)  # Startup Foods, Station 2, 09:00-12:00: no insurance


@dataclass(frozen=True)
class Kitchen:
    seeded: Seeded
    allow_booking: str
    deny_booking: str


@pytest.fixture
async def kitchen(client: AsyncTestClient[Litestar], app: Litestar, login: Login) -> Kitchen:
    seeded = await seed(app.state.services)
    await login(Role.STAFF, STAFF)
    host = await login(Role.HOST, HOST)
    plan = (
        (ALLOW_BOOKING, seeded.resource_id, seeded.renter_id, "10:00", "14:00"),
        (DENY_BOOKING, seeded.other_resource_id, seeded.uninsured_renter_id, "09:00", "12:00"),
    )
    for booking_id, resource_id, renter_id, start, end in plan:
        body = {
            "id": booking_id,
            "resource_id": resource_id,
            "renter_id": renter_id,
            "start": f"2025-11-05T{start}:00",
            "end": f"2025-11-05T{end}:00",
        }
        response = await client.post("/api/v1/bookings", json=body, headers=host)
        assert response.status_code == 201, response.text
    documents = (
        {"owner_kind": "site", "kind": "fire_permit", "number": "FP-1", "expires_at": "2025-11-25"},
        {
            "owner_kind": "site",
            "kind": "health_permit",
            "number": "HP-9",
            "expires_at": "2026-06-30",
        },
        {
            "owner_kind": "renter",
            "owner_id": seeded.uninsured_renter_id,
            "kind": "insurance_coi",
            "expires_at": "2025-10-01",
        },
    )
    for fields in documents:
        files = {"file": (f"{fields['kind']}.pdf", PDF, "application/pdf")}
        response = await client.post("/api/v1/documents", data=fields, files=files, headers=host)
        assert response.status_code == 201, response.text
    return Kitchen(seeded, ALLOW_BOOKING, DENY_BOOKING)


Terminal = Callable[..., StaffApp]


@pytest.fixture
def terminal(client: AsyncTestClient[Litestar], clock: FixedClock, tmp_path: Path) -> Terminal:
    """Build a terminal on the in-process edge (or on ``http``, a wrapper around it)."""

    def build(http: HttpClient | None = None) -> StaffApp:
        edge = EdgeClient(http or client, clock.now)
        # The status timer is effectively off: tests poll by pressing r, never by waiting.
        return StaffApp(
            edge=edge, clock=clock.now, packet_dir=tmp_path / "packets", poll_seconds=3600
        )

    return build


CONFLICT_ID = fixed_id(0x44)
SET_ASIDE_BOOKING = fixed_id(0x33)


async def open_conflict(services: EdgeServices, kitchen: Kitchen) -> str:
    """A slot sold twice: an online booking of Artisan Bakery set aside for Startup Foods' one.

    Written through the journal as a sync pull would leave it (the sync itself is tested in
    ``tests/contract``).
    """
    now = services.clock.now()
    async with services.journal.write(SYSTEM, now) as tx:
        tx.session.add(
            Booking(
                id=SET_ASIDE_BOOKING,
                site_id=kitchen.seeded.site_id,
                resource_id=kitchen.seeded.other_resource_id,
                renter_id=kitchen.seeded.renter_id,
                starts_at=datetime(2025, 11, 5, 18, 0, tzinfo=UTC),  # 10:00-11:00 local
                ends_at=datetime(2025, 11, 5, 19, 0, tzinfo=UTC),
                status="conflict",
                price_cents=3105,
                quote={},
                created_by="hub",
                created_at=now,
                updated_at=now,
                updated_hlc=tx.stamp(),
                origin_node="hub",
            )
        )
        tx.session.add(
            Conflict(
                id=CONFLICT_ID,
                keeper_id=kitchen.deny_booking,
                loser_id=SET_ASIDE_BOOKING,
                rule="earlier_confirmation",
                status="open",
                created_at=now,
                updated_hlc=tx.stamp(),
            )
        )
    return CONFLICT_ID
