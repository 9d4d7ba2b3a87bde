"""Checks of the booking's time and product: quiet hours, rental limits, seasons, fee disclosure."""

from __future__ import annotations

from datetime import timedelta

from reference_db.calendar_rules import local_dates, season_days
from reference_db.compliance.context import Context, dollars, rule_suffix
from reference_db.fees import tax_lines
from reference_db.localtime import daily_window_overlap, day_date, time_by_local_day, wall_segments

_HOUR_US = 3_600_000_000


def check_quiet_hours(ctx: Context) -> None:
    quiet = ctx.rules.quiet
    if quiet is None:
        return
    if daily_window_overlap(ctx.segments, quiet.start, quiet.end) > timedelta(0):
        ctx.emit(
            "SOUND_QUIET_HOURS",
            f"Booking overlaps quiet hours ({quiet.label})",
            f"Adjust booking to avoid quiet hours {quiet.label}",
            quiet.citation,
        )


def check_rental_limits(ctx: Context) -> None:
    limits = ctx.rules.rental
    if limits is None:
        return
    per_day = time_by_local_day(ctx.segments)
    for other in ctx.scenario.same_day_bookings:
        start, end = ctx.instant(other.start), ctx.instant(other.end)
        for day, spent in time_by_local_day(wall_segments(start, end, ctx.rules.tz)).items():
            if day in per_day:
                per_day[day] += spent
    cap = limits.max_hours_per_day * _HOUR_US
    for day, spent in sorted(per_day.items()):
        if spent > cap:
            ctx.emit(
                "RENTAL_LIMIT_DAILY",
                f"Daily rental cap exceeded on {day_date(day):%Y-%m-%d}: "
                f"{_h(timedelta(microseconds=spent))} of {limits.max_hours_per_day} hours",
                "Shorten the booking or move part of it to another day",
            )
    if ctx.end - ctx.start < timedelta(hours=limits.min_booking_hours):
        ctx.emit(
            "RENTAL_MIN_HOURS",
            f"Booking is {_h(ctx.end - ctx.start)} hours; "
            f"the minimum is {limits.min_booking_hours}",
            f"Book at least {limits.min_booking_hours} hours",
        )
    ahead = ctx.start - ctx.as_of
    if ahead > timedelta(days=limits.max_advance_days):
        ctx.emit(
            "RENTAL_ADVANCE_LIMIT",
            f"Booking starts {ahead.days} days ahead; the limit is {limits.max_advance_days} days",
            f"Book no more than {limits.max_advance_days} days in advance",
        )


def _h(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


def check_seasonal(ctx: Context) -> None:
    product = (ctx.scenario.booking.product_type or "").strip().lower()
    if not product or not ctx.rules.seasonal:
        return
    days = local_dates(ctx.start, ctx.end, ctx.rules.tz)
    for rule in ctx.rules.seasonal:
        if rule.product_type != product or not season_days(days, rule.start, rule.end):
            continue
        window = f"{rule.start[0]:02d}-{rule.start[1]:02d} to {rule.end[0]:02d}-{rule.end[1]:02d}"
        if rule.effect == "prohibited":
            ctx.emit(
                "SEASONAL_PROHIBITED",
                rule.message,
                f"Choose dates outside {window} or another product type",
                rule.citation,
            )
        else:
            ctx.emit(
                "SEASONAL_NOTICE",
                rule.message,
                f"Follow the seasonal guidance for {window}",
                rule.citation,
            )


def check_fee_disclosure(ctx: Context) -> None:
    booking = ctx.scenario.booking
    if not booking.fees_required:
        return
    amounts = {
        "base": booking.base_cents,
        "cleaning": booking.cleaning_fee_cents,
        "platform_fee": booking.platform_fee_cents,
    }
    known = any(v is not None for v in amounts.values())
    lines = {
        line.code: line
        for line in tax_lines(ctx.rules.taxes, {k: v or 0 for k, v in amounts.items()})
    }
    for tax in ctx.rules.taxes:
        percent = f"{(tax.rate * 100).normalize():f}%"
        line = lines.get(tax.code)
        if known and line is None:
            continue
        amount = f": {dollars(line.amount_cents)}" if known and line else ""
        ctx.emit(
            f"FEES_{rule_suffix(tax.code)}",
            f"{tax.display_name} ({percent} of {', '.join(sorted(tax.applies_to))}) "
            f"will be assessed{amount}",
            "Include the tax in the booking total",
            tax.citation,
        )
