"""Conflict identity: the same collision gets the same id on every replica.

Two bookings that collide may be detected on the hub and on the edge independently (the edge
when it pulls a hub booking onto a slot it sold offline, the hub when the edge pushes). Both
name the conflict from the pair alone, so the two records are one record, not two.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5b0e6c4e-3a51-4f43-9d0c-7c1f0b7f2a11")


def conflict_id(first_booking: str, second_booking: str) -> str:
    """A stable id for the collision of two bookings, whichever order they are given in."""
    low, high = sorted((first_booking, second_booking))
    return str(uuid.uuid5(_NAMESPACE, f"{low}|{high}"))
