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


def _parse_instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date-time: {value[:40]!r}") from exc
    return value


def _parse_expiry(value: Any) -> Any:
    if isinstance(value, str) and len(value) == _DATE_ONLY_LENGTH:
        parsed = _parse_instant(value)
        return parsed + timedelta(days=1)
    return _parse_instant(value)


def _iso(value: datetime) -> str:
    return value.isoformat()


Instant = Annotated[
    datetime, BeforeValidator(_parse_instant), PlainSerializer(_iso, return_type=str)
]
"""A date-time, aware or naive (naive = local wall time of the site)."""

Expiry = Annotated[
    datetime, BeforeValidator(_parse_expiry), PlainSerializer(_iso, return_type=str)
]
"""An expiry instant; a bare date means the end of that day."""
