"""The frame every staff screen shares: header, edge banner, body, status bar, footer, keys.

Navigation keys work from every staff screen (letters, and function keys that also work while
typing in a field). A screen reloads its data each time it comes to the front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header

from tui.screens.help import HelpScreen
from tui.widgets.banner import EdgeBanner
from tui.widgets.nav_bar import NavBar
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.app import StaffApp

# The screens, in the order of the navigation bar: (mode, keys, label).
SCREENS = (
    ("today", "t,f2", "Today"),
    ("checkin", "c,f3", "Check-in"),
    ("walkin", "w,f4", "Walk-in"),
    ("documents", "d,f5", "Docs"),
    ("conflicts", "x,f6", "Conflicts"),
    ("audit", "a,f7", "Audit"),
)
# Shown in the navigation bar rather than the footer, which keeps room for the screen's keys.
NAVIGATION: list[BindingType] = [
    Binding("question_mark,f1", "help", "Help"),
    *(Binding(keys, f"go('{mode}')", label, show=False) for mode, keys, label in SCREENS),
    Binding("p,f8", "packet", "Inspector packet", show=False),
    Binding("r,f9", "refresh", "Refresh", show=False),
    Binding("ctrl+o", "sign_out", "Sign out", show=False),
    Binding("q,ctrl+q", "app.quit", "Quit", show=False),
]


class StaffScreen(Screen[None]):
    """A signed-in screen: subclasses give ``body`` and ``reload``."""

    BINDINGS: ClassVar[list[BindingType]] = NAVIGATION
    stale = True

    @property
    def staff(self) -> StaffApp:
        return cast("StaffApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.staff.current_mode)
        yield EdgeBanner()
        yield from self.body()
        yield StatusBar(id="status-bar")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    @work(exclusive=True, group="load")
    async def reload(self) -> None:
        """Fetch what the screen shows, in a worker (a newer reload cancels an older one)."""
        await self.load()

    async def load(self) -> None:
        """Fetch and draw what the screen shows (subclasses)."""

    def on_mount(self) -> None:
        for name in ("reference", "edge_down_since"):
            self.watch(self.app, name, self._draw_frame, init=False)
        self.watch(self.app, "sync_status", self._ticked, init=False)
        self._draw_frame()

    def _ticked(self, _status: object) -> None:
        """The status timer brought news: redraw, and let the screen in front catch up."""
        self._draw_frame()
        if self.is_current and self.staff.signed_in:
            self.on_tick()

    def on_tick(self) -> None:
        """Called on every status update while this screen is in front (subclasses)."""

    def on_screen_suspend(self) -> None:
        # A dialog on top changes nothing this screen shows; another screen or mode may have.
        self.stale = not isinstance(self.app.screen, ModalScreen)

    def on_screen_resume(self) -> None:
        self._draw_frame()
        if self.stale and self.staff.signed_in:
            self.stale = False
            self.reload()

    def _draw_frame(self, _value: object = None) -> None:
        staff = self.staff
        self.query_one(NavBar).show(SCREENS, staff.current_mode)
        self.query_one(StatusBar).show(staff.sync_status, staff.reference, staff.now(), staff.tz)
        banner = self.query_one(EdgeBanner)
        banner.show(staff.edge_down_since, staff.edge.url, staff.poll_seconds, staff.tz)

    def action_go(self, mode: str) -> None:
        if self.staff.current_mode != mode:
            self.staff.switch_mode(mode)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.active_bindings))

    def action_packet(self) -> None:
        self.staff.export_packet()

    def action_refresh(self) -> None:
        self.staff.poll()
        self.reload()

    def action_sign_out(self) -> None:
        self.staff.sign_out()
