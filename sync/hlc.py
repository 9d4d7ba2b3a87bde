"""A hybrid logical clock: physical milliseconds plus a counter, ordered, never going back.

A stamp is ``(wall_ms, counter, node_id)``; its text form ``WWWWWWWWWWWWW-CCCCC-node`` sorts the
same way as the tuple, so stamps can be compared as strings in SQL. ``now`` advances past every
stamp this node has issued or seen; ``observe`` merges a remote stamp. The physical clock is
injected (milliseconds since the epoch), so tests drive time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_WALL_DIGITS = 13
_COUNTER_DIGITS = 5
MAX_COUNTER = 10**_COUNTER_DIGITS - 1


@dataclass(frozen=True, order=True)
class Stamp:
    wall_ms: int
    counter: int
    node_id: str

    def encode(self) -> str:
        return f"{self.wall_ms:0{_WALL_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}-{self.node_id}"

    @classmethod
    def decode(cls, text: str) -> Stamp:
        wall, counter, node = text.split("-", 2)
        return cls(int(wall), int(counter), node)


class HybridLogicalClock:
    """Issues stamps for one node; persist ``last`` after issuing and restore it at start."""

    def __init__(
        self, node_id: str, physical_ms: Callable[[], int], last: Stamp | None = None
    ) -> None:
        self.node_id = node_id
        self.physical_ms = physical_ms
        self.last = last or Stamp(0, 0, node_id)

    def now(self) -> Stamp:
        wall = max(self.physical_ms(), self.last.wall_ms)
        counter = self.last.counter + 1 if wall == self.last.wall_ms else 0
        if counter > MAX_COUNTER:  # more than 100k stamps in one millisecond: borrow the next
            wall, counter = wall + 1, 0
        self.last = Stamp(wall, counter, self.node_id)
        return self.last

    def observe(self, remote: Stamp) -> Stamp:
        """Merge a stamp from another node so later local stamps sort after it."""
        wall = max(self.physical_ms(), self.last.wall_ms, remote.wall_ms)
        if wall == self.last.wall_ms == remote.wall_ms:
            counter = max(self.last.counter, remote.counter) + 1
        elif wall == self.last.wall_ms:
            counter = self.last.counter + 1
        elif wall == remote.wall_ms:
            counter = remote.counter + 1
        else:
            counter = 0
        if counter > MAX_COUNTER:
            wall, counter = wall + 1, 0
        self.last = Stamp(wall, counter, self.node_id)
        return self.last
