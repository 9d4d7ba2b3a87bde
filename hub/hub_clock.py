"""The hub's hybrid logical clock: ``sync.hlc`` stamps with node id ``hub`` for its own writes.

One ``HubClock`` per process; its stamps never go backwards within the process, and a stamp
issued to change a record sorts after the record's current stamps (pass them as ``seen``), so
every replica's last-writer-wins takes the hub's change even if an edge's clock ran ahead.
"""

from __future__ import annotations

from hub.clock import Clock, epoch_ms
from sync.hlc import HybridLogicalClock, Stamp

HUB_NODE = "hub"


class HubClock:
    def __init__(self, clock: Clock) -> None:
        self._hlc = HybridLogicalClock(HUB_NODE, lambda: epoch_ms(clock.now()))

    def stamp(self, *seen: str | None) -> str:
        """A new stamp, after every stamp issued so far and after each of ``seen``."""
        for text in seen:
            remote = _decode(text)
            if remote is not None:
                self._hlc.observe(remote)
        return self._hlc.now().encode()


def _decode(text: str | None) -> Stamp | None:
    if not text:
        return None
    try:
        return Stamp.decode(text)
    except ValueError:  # not a stamp (a record seeded by hand): nothing to stay ahead of
        return None
