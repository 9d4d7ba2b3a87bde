"""The sign-in screen: username, then password or PIN; Enter submits.

An account created with a one-time password is asked for a new one before it can go on. The
screen closes once the site, its stations and renters are loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from tui.errors import EdgeProblem, EdgeUnreachable
from tui.widgets.banner import EdgeBanner
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.app import StaffApp

MIN_NEW_PASSWORD = 12
FIELD_HINTS = {
    "username": "Your username, then Enter.",
    "password": "Your password or PIN, then Enter to sign in.",
    "new-password": "A new password of 12 characters or more, then Enter.",
    "repeat-password": "The new password again, then Enter.",
}


class LoginScreen(Screen[None]):
    """Sign in to the edge; dismissed once signed in and the site is loaded."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "app.quit", "Quit")]

    def __init__(self, notice: str = "") -> None:
        super().__init__()
        self.notice = notice

    @property
    def staff(self) -> StaffApp:
        return cast("StaffApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield EdgeBanner()
        with Vertical(id="login-box"):
            yield Static("Sign in", id="login-title")
            yield Static(f"edge {self.staff.edge.url}", markup=False, id="login-edge")
            yield Input(placeholder="username", id="username", max_length=64)
            yield Input(placeholder="password or PIN", password=True, id="password")
            yield Input(placeholder="new password", password=True, id="new-password")
            yield Input(placeholder="new password again", password=True, id="repeat-password")
            yield Static("", id="login-hint")
            yield Static(self.notice, markup=False, id="login-message")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        for field in ("#new-password", "#repeat-password"):
            self.query_one(field).display = False
        self.watch(self.app, "edge_down_since", self._draw_banner)
        self.watch(self.app, "reference", self._draw_status)
        self.query_one("#username", Input).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Say what the focused field wants (also tells a fast typist the field has moved)."""
        hint = FIELD_HINTS.get(event.widget.id or "", "")
        self.query_one("#login-hint", Static).update(hint)

    def _draw_banner(self, _value: object = None) -> None:
        staff = self.staff
        banner = self.query_one(EdgeBanner)
        banner.show(staff.edge_down_since, staff.edge.url, staff.poll_seconds, staff.tz)

    def _draw_status(self, _value: object = None) -> None:
        staff = self.staff
        self.query_one(StatusBar).show(None, staff.reference, staff.now(), staff.tz)

    def _say(self, text: str) -> None:
        self.query_one("#login-message", Static).update(text)

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["username", "password"]
        if self.query_one("#new-password").display:
            order += ["new-password", "repeat-password"]
        empty = next((name for name in order if not self._value(name)), None)
        if empty is not None:
            self.query_one(f"#{empty}", Input).focus()
            return
        self.submit()

    @work(exclusive=True, group="login")
    async def submit(self) -> None:
        self._say("Signing in ...")
        try:
            if self.query_one("#new-password").display:
                await self._change_password()
            else:
                await self._sign_in()
        except EdgeProblem as problem:
            if isinstance(problem, EdgeUnreachable):
                self.staff.report(problem)
            self._say(f"{problem.title}: {problem.message}")
            return
        if self.staff.signed_in:
            self.staff.edge_answered()
            await self._finish()

    async def _sign_in(self) -> None:
        session = await self.staff.edge.login(self._value("username"), self._value("password"))
        if session.must_change_password:
            for field in ("#new-password", "#repeat-password"):
                self.query_one(field).display = True
            self.query_one("#new-password", Input).focus()
            self._say("This password was for the first sign-in only: choose a new one.")

    async def _change_password(self) -> None:
        new, again = self._value("new-password"), self._value("repeat-password")
        if new != again or len(new) < MIN_NEW_PASSWORD:
            self._say(f"The new passwords must match and have {MIN_NEW_PASSWORD}+ characters.")
            return
        await self.staff.edge.change_password(self._value("password"), new)

    async def _finish(self) -> None:
        if await self.staff.load_directory():
            self.query_one("#password", Input).value = ""
            self.staff.poll()
            self.dismiss(None)
        else:
            self._say("Signed in, but the site could not be loaded; press Enter to try again.")
