"""``python -m edge.demo``: a San Francisco demo kitchen, seeded once, then served (``make run``).

The first run initialises ``ROOT/edge`` (built in ``ROOT/edge.tmp`` and renamed into place only
when complete, so an interrupted run leaves nothing half-seeded), gives it a compliant site
profile, three stations, three renters (compliant, uninsured, expired certificate of insurance)
with documents, today's bookings in the site's zone, and a host and a staff login whose demo
passwords are written to ``ROOT/credentials.txt`` (mode 0600). Later runs reuse it. Demo only:
these passwords are known to anyone who reads this file.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from edge import cli
from edge.bookings import create_booking
from edge.documents import upload_document
from edge.errors import EdgeError
from edge.journal import Actor
from edge.renters import create_renter
from edge.runtime import open_services
from edge.services import EdgeServices
from edge.settings import EdgeSettings
from edge.setup import initialise
from edge.site_service import create_resource, update_site
from edge.users import change_password, create_user, find_user
from sync.shapes.bookings import BookingCreate
from sync.shapes.documents import DocumentMeta
from sync.shapes.site import RenterCreate, ResourceCreate, SitePatch
from sync.vocabulary import Role

SITE_NAME = "Mission Street Shared Kitchen"
JURISDICTION = "san_francisco"
TIMEZONE = "America/Los_Angeles"
HOST_PASSWORD = "demo-host-kitchen"  # noqa: S105 - a published demo password, demo only
STAFF_USERNAME = "staff"
STAFF_PASSWORD = "demo-staff-door"  # noqa: S105 - a published demo password, demo only
DEMO_PDF = b"%PDF-1.4\n% Prep demo document\n%%EOF\n"
STATIONS = (("Station 1 - bakery bench", 3_500), ("Station 2 - hot line", 4_500))
COLD_ROOM = ("Cold prep room", 3_000)


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    credentials: Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edge.demo", description="Set up (once) and serve a demo edge kitchen."
    )
    parser.add_argument("--root", type=Path, default=Path(".demo"), help="demo folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8700, help="port to serve on")
    parser.add_argument("--no-serve", action="store_true", help="set up and print, do not serve")
    args = parser.parse_args(argv)
    demo = Demo(args.root / "edge", args.root / "credentials.txt")
    try:
        if not (demo.data_dir / "edge.sqlite").exists():
            print(f"setting up a demo kitchen in {demo.data_dir} ...", flush=True)
            build(demo, datetime.now(UTC))
        print(
            f"\nPrep edge demo: http://{args.host}:{args.port}  (API under /api/v1, docs /schema)"
        )
        print(f"demo logins ({demo.credentials}):")
        print(demo.credentials.read_text(encoding="utf-8"), flush=True)
    except (EdgeError, OSError) as exc:
        print(f"edge demo: {exc}", file=sys.stderr)
        return 2
    if args.no_serve:
        return 0
    serve = ["serve", "--data-dir", str(demo.data_dir), "--host", args.host]
    return cli.main([*serve, "--port", str(args.port)])


def build(demo: Demo, now: datetime) -> None:
    """Initialise and seed the demo node in a scratch folder, then move it into place."""
    scratch = demo.data_dir.with_name(demo.data_dir.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    result = initialise(scratch, SITE_NAME, JURISDICTION, TIMEZONE, now, dict(os.environ))
    settings = EdgeSettings.load(scratch, jobs={"enabled": False})
    asyncio.run(_seed(settings, result.username, result.password))
    os.replace(scratch, demo.data_dir)
    write_credentials(demo.credentials, result.username)


def write_credentials(path: Path, host_username: str) -> None:
    """The demo logins, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# demo only: never use these passwords on a real kitchen\n"
        f"host   {host_username} / {HOST_PASSWORD}\n"
        f"staff  {STAFF_USERNAME} / {STAFF_PASSWORD}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


async def _seed(settings: EdgeSettings, host_username: str, one_time_password: str) -> None:
    async with open_services(settings) as services:
        host = await find_user(services, host_username)
        if host is None:
            raise EdgeError(f"the first host {host_username!r} is missing")
        await change_password(services, host.id, one_time_password, HOST_PASSWORD)
        await create_user(services, STAFF_USERNAME, Role.STAFF, STAFF_PASSWORD)
        actor = Actor(host.id, host.username, Role.HOST)
        now = services.clock.now()
        await update_site(services, actor, _site_patch(now))
        stations = [
            await create_resource(
                services, actor, ResourceCreate(name=name, kind="station", hourly_rate_cents=rate)
            )
            for name, rate in (*STATIONS, COLD_ROOM)
        ]
        renters = await _renters(services, actor, now)
        await _bookings(services, actor, [s.id for s in stations], renters, now)


def _site_patch(now: datetime) -> SitePatch:
    valid = (now + timedelta(days=400)).date().isoformat()
    kinds = ("health_permit", "shared_kitchen", "fire", "ventilation")
    return SitePatch.model_validate(
        {
            "address": "2180 Mission St, San Francisco, CA 94110",
            "latitude": 37.7627,
            "longitude": -122.4195,
            "permits": [{"kind": k, "status": "active", "expires_at": valid} for k in kinds],
            "zoning": {"district": "PDR", "neighborhood_notice_doc_id": "demo-notice"},
            "ada_accessible": True,
            "grease": {"last_service_at": (now - timedelta(days=10)).isoformat()},
        }
    )


async def _renters(services: EdgeServices, actor: Actor, now: datetime) -> list[str]:
    """Three renters: compliant, uninsured, and one whose insurance certificate has expired."""
    insured = {
        "general_liability_cents": 100_000_000,
        "aggregate_cents": 200_000_000,
        "additional_insured_text": "City and County of San Francisco",
    }
    card = {"kind": "food_handler_card", "status": "approved"}
    in_a_year = (now + timedelta(days=365)).date().isoformat()
    lapsed = (now - timedelta(days=5)).date().isoformat()
    people = (
        ("Artisan Bakery", "orders@artisan-bakery.example", {**insured, "expires_at": in_a_year}),
        ("Startup Foods", "hello@startup-foods.example", None),
        ("Fog City Catering", "kitchen@fogcity.example", {**insured, "expires_at": lapsed}),
    )
    ids = []
    for name, email, insurance in people:
        data: dict[str, object] = {
            "name": name,
            "email": email,
            "phone": "+1 415 555 0100",
            "activities": ["baked_goods"],
            "documents": [{**card, "expires_at": in_a_year}],
        }
        if insurance is not None:
            data["insurance"] = insurance
        renter = await create_renter(services, actor, RenterCreate.model_validate(data))
        ids.append(renter.id)
    await _document(services, actor, ids[0], "insurance_coi", now + timedelta(days=20))
    await _document(services, actor, ids[2], "insurance_coi", now - timedelta(days=5))
    return ids


async def _document(
    services: EdgeServices, actor: Actor, renter_id: str, kind: str, expires: datetime
) -> None:
    meta = DocumentMeta.model_validate(
        {
            "owner_kind": "renter",
            "owner_id": renter_id,
            "kind": kind,
            "issuer": "Demo Mutual Insurance",
            "expires_at": expires.date().isoformat(),
        }
    )
    await upload_document(services, actor, meta, io.BytesIO(DEMO_PDF), f"{kind}.pdf")


async def _bookings(
    services: EdgeServices, actor: Actor, stations: list[str], renters: list[str], now: datetime
) -> None:
    """Two-hour bookings today in the site's zone (tomorrow morning if today is nearly over)."""
    start = first_slot(now, ZoneInfo(TIMEZONE))
    plan = [(stations[i], renters[i], start) for i in range(3)]
    plan.append((stations[0], renters[0], start + timedelta(hours=3)))
    for resource_id, renter_id, begins in plan:
        data = BookingCreate(
            resource_id=resource_id,
            renter_id=renter_id,
            start=begins,
            end=begins + timedelta(hours=2),
        )
        try:
            await create_booking(services, actor, data)
        except EdgeError as exc:
            print(f"  (skipped a demo booking at {begins:%H:%M %Z}: {exc})")


def first_slot(now: datetime, tz: ZoneInfo) -> datetime:
    """The next full hour, local; tomorrow at 08:00 when fewer than 6 hours are left today."""
    local = now.astimezone(tz)
    slot = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    slot = max(slot, datetime.combine(local.date(), time(7), tz))
    if slot.date() != local.date() or slot.hour > 17:
        slot = datetime.combine(local.date() + timedelta(days=1), time(8), tz)
    return slot


if __name__ == "__main__":
    sys.exit(main())
