"""One booking at the door: who, where, when, its verdict now, and check-in or check-out.

``i`` checks in (the edge evaluates again and refuses a DENY), ``h`` lets a host check in over a
DENY with a reason, ``o`` checks out, Escape goes back.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from sync.shapes.bookings import BookingOut, CheckInOut
from sync.verdicts import Verdict
from tui.dialogs.reason import ReasonDialog
from tui.display import booking_code, moment, money, span, status_label
from tui.errors import EdgeProblem, EdgeRefusal
from tui.screens.base import StaffScreen
from tui.widgets.verdict import VerdictPanel


class BookingScreen(StaffScreen):
    """A booking and the actions on it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("i", "check_in", "Check in"),
        Binding("h", "override", "Host override"),
        Binding("o", "check_out", "Check out"),
    ]

    def __init__(self, booking_id: str) -> None:
        super().__init__()
        self.booking_id = booking_id
        self.booking: BookingOut | None = None

    def body(self) -> ComposeResult:
        yield Static("Loading the booking ...", id="booking-summary", markup=False)
        yield VerdictPanel(id="verdict")
        yield Static("", id="booking-notice", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VerdictPanel).focus()

    async def load(self) -> None:
        staff = self.staff
        booking = await staff.call(staff.edge.booking(self.booking_id))
        if booking is None:
            return
        self._show_booking(booking)
        self.query_one(VerdictPanel).show_pending("Checking the rules ...")
        verdict = await staff.call(staff.edge.compliance(self.booking_id))
        if verdict is not None:
            self.query_one(VerdictPanel).show(verdict)

    def _show_booking(self, booking: BookingOut) -> None:
        self.booking = booking
        directory, tz = self.staff.directory, self.staff.tz
        day = booking.start.astimezone(tz).date().isoformat()
        self.query_one("#booking-summary", Static).update(
            f"{directory.renter_name(booking.renter_id)}  ·  code {booking_code(booking.id)}\n"
            f"{directory.resource_name(booking.resource_id)}  ·  {day}"
            f" {span(booking.start, booking.end, tz)}  ·  {status_label(booking.status).upper()}"
            f"  ·  {money(booking.price_cents)}"
        )

    def _notice(self, text: str) -> None:
        self.query_one("#booking-notice", Static).update(text)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_check_in(self) -> None:
        self.check_in(None)

    def action_override(self) -> None:
        verdict = self.query_one(VerdictPanel).verdict
        if verdict is not None and verdict.result.value != "DENY":
            self._notice("No override needed: the verdict is not DENY (press i to check in).")
            return
        dialog = ReasonDialog(
            "Host override",
            "Check in despite the refusal. The reason is recorded in the audit log.",
        )
        self.app.push_screen(dialog, self._override_with)

    def _override_with(self, reason: str | None) -> None:
        if reason:
            self.check_in(reason)

    @work(exclusive=True, group="move")
    async def check_in(self, override_reason: str | None) -> None:
        staff = self.staff
        try:
            result = await staff.edge.check_in(self.booking_id, override_reason)
        except EdgeProblem as problem:
            self._refused(problem)
            return
        staff.edge_answered()
        self._checked_in(result)

    def _refused(self, problem: EdgeProblem) -> None:
        """Show the verdict a 412 carries, then the refusal as a dialog."""
        if isinstance(problem, EdgeRefusal) and problem.status == 412:
            try:
                verdict = Verdict.model_validate(problem.details.get("verdict"))
            except ValidationError:
                pass  # the refusal itself still says why; only the panel stays as it was
            else:
                self.query_one(VerdictPanel).show(verdict)
            problem.message += " A host may check in anyway with a reason (h)."
        self.staff.report(problem)

    def _checked_in(self, result: CheckInOut) -> None:
        self._show_booking(result.booking)
        self.query_one(VerdictPanel).show(result.verdict)
        at = moment(self.staff.now(), self.staff.tz, self.staff.now())
        note = f"Checked in at {at} ({result.verdict.result.value})"
        if result.override_reason:
            note += f", host override: {result.override_reason}"
        self._notice(note + ".")

    @work(exclusive=True, group="move")
    async def action_check_out(self) -> None:
        staff = self.staff
        booking = await staff.call(staff.edge.move_booking(self.booking_id, "check-out"))
        if booking is not None:
            self._show_booking(booking)
            self._notice(f"Checked out at {moment(staff.now(), staff.tz, staff.now())}.")
