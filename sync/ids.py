"""Time-ordered identifiers: UUIDv7 (RFC 9562), from an injected clock and random source."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable


def uuid7(unix_ms: int, random_bytes: Callable[[int], bytes] = os.urandom) -> uuid.UUID:
    """A version-7 UUID: 48 bits of milliseconds, then 74 random bits."""
    tail = int.from_bytes(random_bytes(10), "big")
    rand_a = tail >> 68 & 0xFFF
    rand_b = tail & ((1 << 62) - 1)
    value = (unix_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def is_uuid7(text: str) -> bool:
    try:
        parsed = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return parsed.version == 7 and parsed.variant == uuid.RFC_4122
