"""Checks of the kitchen: permits, zoning notices, access, grease, inspections, maintenance."""

from __future__ import annotations

from datetime import datetime, timedelta

from reference_db.calendar_rules import Block, Clash, clash
from reference_db.compliance.context import Context, rule_suffix
from reference_db.rulebook import Buffer, PermitRule, permit_match_key
from sync.scenarios import Permit

_NO_BUFFER = Buffer(timedelta(0), timedelta(0))


def check_permits(ctx: Context) -> None:
    held: dict[str, list[Permit]] = {}
    for permit in ctx.scenario.site.permits:
        held.setdefault(permit_match_key(permit.kind), []).append(permit)
    for rule in ctx.rules.permits:
        _check_permit(ctx, rule, held.get(rule.match_key, []))


def _check_permit(ctx: Context, rule: PermitRule, permits: list[Permit]) -> None:
    latest: datetime | None = None  # the latest expiry of a valid permit covering the booking
    for permit in permits:
        if permit.status.strip().lower() not in rule.valid_statuses:
            continue
        if permit.expires_at is None:
            return  # valid with no expiry: nothing to report
        expires = ctx.instant(permit.expires_at)
        if expires >= ctx.end:
            latest = expires if latest is None or expires > latest else latest
    if latest is None:
        ctx.emit(
            f"PERMIT_{rule_suffix(rule.kind)}",
            f"Missing or expired {rule.kind} permit",
            f"Upload current {rule.kind} permit for this facility",
        )
    elif latest - ctx.as_of <= rule.expiry_warning:
        ctx.emit(
            "PERMIT_EXPIRING",
            f"{rule.kind} permit expires on {ctx.local(latest):%Y-%m-%d}",
            f"Renew the {rule.kind} permit before it expires",
        )


def check_zoning(ctx: Context) -> None:
    rule = ctx.rules.zoning
    if rule is None:
        return
    zoning = ctx.scenario.site.zoning
    district = (zoning.district or "").strip().upper() if zoning else ""
    district_rule = rule.districts.get(district)
    notice_required = (
        district_rule.neighborhood_notice_required
        if district_rule
        else rule.neighborhood_notice_required
    )
    if district and rule.allowed_districts and not _allowed(district, rule.allowed_districts):
        ctx.emit(
            "ZONING_DISTRICT",
            f"District {district} is not on the list of districts for shared kitchens",
            "Confirm the zoning with the planning department",
        )
    period = rule.notice_period_days or 0
    if notice_required:
        doc = zoning.neighborhood_notice_doc_id if zoning else None
        notice_date = zoning.notice_date if zoning else None
        radius = f"{rule.notice_radius_feet}-foot radius " if rule.notice_radius_feet else ""
        if not doc:
            ctx.emit(
                "ZONING_NOTICE",
                f"Neighborhood notice required ({period} days)",
                f"Provide proof of {radius}neighborhood notification",
            )
        elif (
            notice_date is not None
            and ctx.instant(notice_date) + timedelta(days=period) > ctx.start
        ):
            ctx.emit(
                "ZONING_NOTICE",
                f"Neighborhood notice period ({period} days) has not elapsed",
                f"Book on or after {_plus_days(ctx, notice_date, period)}",
            )
    if rule.community_notice_required:
        _check_community_notice(ctx, rule.community_notice_period_days or 0)


def _check_community_notice(ctx: Context, period: int) -> None:
    zoning = ctx.scenario.site.zoning
    doc = zoning.community_notice_doc_id if zoning else None
    notified = zoning.community_notice_date if zoning else None
    if not doc:
        ctx.emit(
            "COMMUNITY_NOTICE",
            f"Community notification required ({period} days)",
            "Provide proof that the community was notified",
        )
    elif notified is not None and ctx.instant(notified) + timedelta(days=period) > ctx.start:
        ctx.emit(
            "COMMUNITY_NOTICE",
            f"Community notification period ({period} days) has not elapsed",
            f"Book on or after {_plus_days(ctx, notified, period)}",
        )


def check_ada(ctx: Context) -> None:
    if ctx.scenario.renter.requires_ada_access and ctx.scenario.site.ada_accessible is not True:
        ctx.emit(
            "ADA_ACCESSIBILITY",
            "Facility is not ADA accessible and the renter requires ADA access",
            "Book an ADA-accessible facility or confirm accommodations with the host",
        )


def check_grease(ctx: Context) -> None:
    rule, grease = ctx.rules.grease, ctx.scenario.site.grease
    if rule is None or grease is None or grease.last_service_at is None:
        return
    serviced = ctx.local(ctx.instant(grease.last_service_at)).date()
    days = (ctx.local(ctx.as_of).date() - serviced).days
    interval = rule.max_service_interval_days
    if days > interval:
        ctx.emit(
            "GREASE_MAINTENANCE",
            f"Grease trap overdue for service ({days} days since last service)",
            f"Schedule grease trap service (required every {interval} days)",
        )
        return
    days_at_booking = (ctx.local(ctx.end).date() - serviced).days
    if days_at_booking > interval - rule.due_soon_days:
        due = serviced + timedelta(days=interval)
        ctx.emit(
            "GREASE_DUE_SOON",
            f"Grease trap service due by {due:%Y-%m-%d}",
            "Schedule grease trap service before it is overdue",
        )


def check_inspections(ctx: Context) -> None:
    for inspection in ctx.scenario.site.inspections:
        if inspection.start is None or inspection.end is None:
            continue
        kind = inspection.kind.strip().lower()
        buffer = ctx.rules.buffers.get(kind, _NO_BUFFER)
        block = Block(
            ctx.instant(inspection.start), ctx.instant(inspection.end), buffer.before, buffer.after
        )
        found = clash(ctx.start, ctx.end, block)
        if found is None:
            continue
        when = f"{ctx.local(block.start):%Y-%m-%d %H:%M}-{ctx.local(block.end):%H:%M}"
        detail = (
            "overlaps"
            if found is Clash.OVERLAP
            else (
                f"falls within the buffer ({_hours(buffer.before)} before, "
                f"{_hours(buffer.after)} after) of"
            )
        )
        ctx.emit(
            "INSPECTION_CONFLICT",
            f"Booking {detail} a scheduled {kind} inspection ({when})",
            "Move the booking clear of the inspection and its buffer",
        )
    _check_failed_inspections(ctx)


def _check_failed_inspections(ctx: Context) -> None:
    latest: dict[str, tuple[datetime, str]] = {}
    for inspection in ctx.scenario.site.inspections:
        if inspection.result is None or inspection.end is None:
            continue
        finished = ctx.instant(inspection.end)
        if finished > ctx.as_of:
            continue
        kind = inspection.kind.strip().lower()
        if kind not in latest or finished >= latest[kind][0]:
            latest[kind] = (finished, inspection.result.strip().lower())
    for kind, (finished, result) in sorted(latest.items()):
        if result == "fail":
            ctx.emit(
                "INSPECTION_FAILED",
                f"Most recent {kind} inspection failed ({ctx.local(finished):%Y-%m-%d})",
                "Pass a re-inspection before the facility is rented again",
            )


def check_maintenance(ctx: Context) -> None:
    buffer = ctx.rules.buffers.get("maintenance", _NO_BUFFER)
    for window in ctx.scenario.site.maintenance:
        block = Block(
            ctx.instant(window.start), ctx.instant(window.end), buffer.before, buffer.after
        )
        found = clash(ctx.start, ctx.end, block)
        when = f"{ctx.local(block.start):%Y-%m-%d %H:%M}-{ctx.local(block.end):%H:%M}"
        if found is Clash.OVERLAP:
            ctx.emit(
                "MAINTENANCE_CONFLICT",
                f"Booking overlaps a maintenance window ({when})",
                "Move the booking outside the maintenance window",
            )
        elif found is Clash.BUFFER:
            ctx.emit(
                "MAINTENANCE_BUFFER",
                f"Booking is within {_hours(buffer.before)} before or "
                f"{_hours(buffer.after)} after maintenance ({when})",
                "Leave the buffer around maintenance free, or confirm with the host",
            )


def _plus_days(ctx: Context, moment: datetime, days: int) -> str:
    return f"{ctx.local(ctx.instant(moment) + timedelta(days=days)):%Y-%m-%d}"


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes} min"


def _allowed(district: str, allowed: frozenset[str]) -> bool:
    """``PDR-1-D`` is a ``PDR`` district: a listed code also admits its sub-districts."""
    return any(district == code or district.startswith(code + "-") for code in allowed)
