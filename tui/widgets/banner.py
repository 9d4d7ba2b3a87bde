"""The banner shown while the edge does not answer: since when, and that the terminal retries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from textual.widgets import Static

from tui.display import clock_time


class EdgeBanner(Static):
    """Hidden while the edge answers; a red line naming the edge and the retry otherwise."""

    def __init__(self) -> None:
        super().__init__(markup=False)
        self.display = False

    def show(
        self, down_since: datetime | None, url: str, retry_seconds: float, tz: ZoneInfo
    ) -> None:
        self.display = down_since is not None
        if down_since is not None:
            zone = " UTC" if tz.key == "UTC" else ""  # before sign-in the site's zone is unknown
            self.update(
                f"EDGE UNREACHABLE since {clock_time(down_since, tz)}{zone}: {url} is not"
                f" answering. Retrying every {retry_seconds:g} s."
            )
