"""Conflict shapes of the edge API: two bookings that collided across replicas, and a resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync.instants import Instant
from sync.shapes.bookings import BookingOut

RESOLVE_ACTIONS = ("cancel", "move")


class ConflictOut(BaseModel):
    """A collision: the booking the keeper rule kept, the one it set aside, and what to do."""

    id: str
    status: Literal["open", "resolved"]
    rule: str
    keeper: BookingOut | None
    loser: BookingOut | None
    resolution: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    actions: list[str]


class ConflictResolve(BaseModel):
    """``cancel`` the set-aside booking (the hub refunds it), or ``move`` it to a free slot."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["cancel", "move"]
    resource_id: str | None = Field(default=None, max_length=36)
    start: Instant | None = None
    end: Instant | None = None
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _move_needs_a_slot(self) -> ConflictResolve:
        slot = (self.resource_id, self.start, self.end)
        if self.action == "move" and None in slot:
            raise ValueError("move needs resource_id, start and end")
        if self.action == "cancel" and slot != (None, None, None):
            raise ValueError("cancel takes no slot")
        return self
