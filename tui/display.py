"""How the terminal writes things: money, booking codes, local times, days and expiry badges.

Amounts stay integer cents everywhere and become text only here; instants are shown in the
site's zone. Pure functions, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CODE_LENGTH = 6
EXPIRING_WITHIN = timedelta(days=30)
STATUS_LABELS = {
    "hold": "hold",
    "confirmed": "confirmed",
    "checked_in": "checked in",
    "checked_out": "checked out",
    "cancelled": "cancelled",
    "no_show": "no-show",
    "conflict": "conflict",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def money(cents: int) -> str:
    """``123456`` -> ``$1,234.56`` (display only: arithmetic stays in cents)."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def booking_code(booking_id: str) -> str:
    """The short code staff read out: the last six hex digits of the id, upper case."""
    return short_code(booking_id)


def short_code(record_id: str) -> str:
    """Any record's id cut to its last six characters (the random end of a UUIDv7)."""
    return record_id.replace("-", "")[-CODE_LENGTH:].upper()


def matches_code(query: str, booking_id: str) -> bool:
    """Whether ``query`` (dashes and case ignored, three characters or more) is part of the id."""
    wanted = query.replace("-", "").strip().lower()
    return len(wanted) >= 3 and wanted in booking_id.replace("-", "").lower()


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """An instant in the site's zone (a naive one is taken as already local)."""
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def clock_time(moment: datetime, tz: ZoneInfo) -> str:
    return f"{local(moment, tz):%H:%M}"


def short_day(day: date) -> str:
    """``Wed 5 Nov``."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def long_day(day: date) -> str:
    """``Wed 5 Nov 2025``."""
    return f"{short_day(day)} {day.year}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """``09:00-11:00``, or with the end's day when it ends on another day."""
    first, last = local(start, tz), local(end, tz)
    if first.date() == last.date():
        return f"{first:%H:%M}-{last:%H:%M}"
    return f"{first:%H:%M}-{short_day(last.date())} {last:%H:%M}"


def moment(at: datetime | None, tz: ZoneInfo, now: datetime) -> str:
    """``06:02`` today, ``4 Nov 06:02`` another day, ``never`` for None."""
    if at is None:
        return "never"
    seen = local(at, tz)
    if seen.date() == local(now, tz).date():
        return f"{seen:%H:%M}"
    return f"{seen.day} {MONTHS[seen.month - 1]} {seen:%H:%M}"


def valid_through(expires_at: datetime, tz: ZoneInfo) -> date:
    """The last day a document is valid: an expiry at midnight ends the day before."""
    return (local(expires_at, tz) - timedelta(microseconds=1)).date()


class BadgeLevel(StrEnum):
    OK = "ok"
    SOON = "soon"
    EXPIRED = "expired"
    NONE = "none"


@dataclass(frozen=True)
class Badge:
    text: str
    level: BadgeLevel


def expiry_badge(expires_at: datetime | None, now: datetime, tz: ZoneInfo) -> Badge:
    """``EXPIRED``, ``12 DAYS`` left (30 or fewer), ``TODAY`` (its last day), ``ok``, ``-``."""
    if expires_at is None:
        return Badge("-", BadgeLevel.NONE)
    left = local(expires_at, tz) - local(now, tz)
    if left <= timedelta(0):
        return Badge("EXPIRED", BadgeLevel.EXPIRED)
    if left <= EXPIRING_WITHIN:
        days = left.days
        return Badge("TODAY" if days == 0 else f"{days} DAYS", BadgeLevel.SOON)
    return Badge("ok", BadgeLevel.OK)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"
