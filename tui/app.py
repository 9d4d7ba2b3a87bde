"""The staff terminal's Textual app: sign-in, the screens as modes, the status timer, errors.

``StaffApp(edge=EdgeClient(http), clock=...)`` takes its collaborators from outside; "now" is
always ``clock()``, so tests run on a fixed day. Every edge call of a screen goes through
``call``: an unreachable edge raises the banner (the status timer retries and clears it), an
expired session brings back the sign-in screen, any other refusal becomes a dialog.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App
from textual.reactive import reactive

from sync.shapes.sync_status import SyncStatus
from tui.client import Clock, EdgeClient, ReferenceInfo
from tui.dialogs.message import MessageDialog
from tui.directory import SiteDirectory
from tui.errors import EdgeProblem, EdgeUnreachable, SessionExpired
from tui.inspection import export_packet
from tui.screens.audit import AuditScreen
from tui.screens.base import StaffScreen
from tui.screens.checkin import CheckInScreen
from tui.screens.conflicts import ConflictsScreen
from tui.screens.documents import DocumentsScreen
from tui.screens.login import LoginScreen
from tui.screens.today import TodayScreen
from tui.screens.walkin import WalkInScreen

STYLES = Path(__file__).parent / "styles"
DEFAULT_POLL_SECONDS = 5.0
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


class StaffApp(App[None]):
    """Schedule, check-in, walk-ins, documents, conflicts, audit and the inspector packet."""

    CSS_PATH: ClassVar[list[str | PurePath]] = sorted(STYLES.glob("*.tcss"))
    TITLE = "Prep"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, Any]] = {
        "today": TodayScreen,
        "checkin": CheckInScreen,
        "walkin": WalkInScreen,
        "documents": DocumentsScreen,
        "conflicts": ConflictsScreen,
        "audit": AuditScreen,
    }

    edge_down_since: reactive[datetime | None] = reactive(None)
    sync_status: reactive[SyncStatus | None] = reactive(None, always_update=True)
    reference: reactive[ReferenceInfo | None] = reactive(None, always_update=True)

    def __init__(
        self,
        edge: EdgeClient,
        clock: Clock = system_clock,
        packet_dir: Path | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        super().__init__()
        self.edge = edge
        self.clock = clock
        self.packet_dir = packet_dir or Path.cwd()
        self.poll_seconds = poll_seconds
        self.directory = SiteDirectory()

    def now(self) -> datetime:
        return self.clock()

    @property
    def tz(self) -> ZoneInfo:
        return self.directory.tz

    @property
    def signed_in(self) -> bool:
        session = self.edge.session
        return session is not None and not session.must_change_password

    def on_mount(self) -> None:
        self.set_interval(self.poll_seconds, self.poll)
        self.push_screen(LoginScreen(), self._after_first_sign_in)
        self.poll()

    def _after_first_sign_in(self, _result: None) -> None:
        self.switch_mode("today")

    async def load_directory(self) -> bool:
        """Fetch the site, stations and renters; False (and reported) if the edge refused."""
        directory = await self.call(SiteDirectory.load(self.edge))
        if directory is None:
            return False
        self.directory = directory
        self.title = f"Prep · {directory.site_name}"
        self.sub_title = f"signed in as {self.edge.username}"
        return True

    # --- edge calls and their failures --------------------------------------------------------

    async def call(self, operation: Awaitable[T]) -> T | None:
        """Await an edge call; on failure report it and return None."""
        try:
            result = await operation
        except EdgeProblem as problem:
            self.report(problem)
            return None
        self.edge_answered()
        return result

    def report(self, problem: EdgeProblem) -> None:
        if isinstance(problem, EdgeUnreachable):
            if self.edge_down_since is None:
                self.edge_down_since = self.now()
        elif isinstance(problem, SessionExpired):
            self.require_sign_in(problem.message)
        else:
            self.push_screen(MessageDialog(problem.title, problem.message))

    def edge_answered(self) -> None:
        """The edge is back: drop the banner and reload what the screen shows."""
        if self.edge_down_since is not None:
            self.edge_down_since = None
            if isinstance(self.screen, StaffScreen):
                self.screen.reload()

    def require_sign_in(self, notice: str) -> None:
        if not isinstance(self.screen, LoginScreen):
            self.sub_title = "signed out"
            self.push_screen(LoginScreen(notice=notice))

    # --- the status timer ---------------------------------------------------------------------

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        """Reference bundle always; sync status once signed in. Also retries a lost edge."""
        reference = await self.call(self.edge.reference())
        if reference is not None:
            self.reference = reference
        if reference is not None and self.signed_in:
            status = await self.call(self.edge.sync_status())
            if status is not None:
                self.sync_status = status

    # --- actions every staff screen offers ----------------------------------------------------

    @work(exclusive=True, group="packet")
    async def export_packet(self) -> None:
        """Write the inspector packet for today and say where it is."""
        path = await self.call(
            export_packet(self.edge, self.directory, self.now(), self.packet_dir)
        )
        if path is not None:
            message = f"Saved to {path}. Open it in a browser and print it."
            self.push_screen(MessageDialog("Inspector packet saved", message, error=False))

    @work(exclusive=True, group="session")
    async def sign_out(self) -> None:
        await self.call(self.edge.logout())
        self.sync_status = None
        self.require_sign_in("Signed out.")
