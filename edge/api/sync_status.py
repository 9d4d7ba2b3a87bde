"""Edge API: sync_status (being built)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
