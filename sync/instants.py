"""Datetime input types shared by every shape: local-or-aware instants and expiry dates.

A datetime without an offset is a wall-clock time in the site's zone; it stays naive here and
is placed in the zone by whoever knows the zone (the compliance engine, the edge). An expiry
given as a bare date (``2027-01-01``) means "valid through that day", so it becomes midnight at
the start of the next day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DATE_ONLY_LENGTH = 10
FIRST_YEAR, LAST_YEAR = 1900, 2999
_FAR_FUTURE = datetime(LAST_YEAR + 1, 1, 1)  # noqa: DTZ001 - naive on purpose: a wall time


def _parse(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date-time: {value[:40]!r}") from exc
    return value


def _parse_instant(value: Any) -> Any:
    parsed = _parse(value)
    if isinstance(parsed, datetime) and not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ValueError(f"year {parsed.year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return parsed


def _parse_expiry(value: Any) -> Any:
    """A bare date means the end of that day; "never" dates like 9999-12-31 stay far ahead."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return parsed
    if parsed.year > LAST_YEAR:
        return _FAR_FUTURE.replace(tzinfo=parsed.tzinfo)
    if parsed.year < FIRST_YEAR:
        raise ValueError(f"year {parsed.year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    if isinstance(value, str) and len(value) == _DATE_ONLY_LENGTH:
        return parsed + timedelta(days=1)
    return parsed


def _iso(value: datetime) -> str:
    return value.isoformat()


Instant = Annotated[
    datetime, BeforeValidator(_parse_instant), PlainSerializer(_iso, return_type=str)
]
"""A date-time, aware or naive (naive = local wall time of the site)."""

Expiry = Annotated[datetime, BeforeValidator(_parse_expiry), PlainSerializer(_iso, return_type=str)]
"""An expiry instant; a bare date means the end of that day."""
