"""Walk-in booking: pick renter, station, start and hours; see the price; confirm or release.

"Quote and hold" places a hold (so nobody takes the slot while the renter decides) and shows
the edge's price quote; Confirm books it, Release cancels the hold. A taken slot shows the
clashing booking instead.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Select, Static

from sync.ids import uuid7
from sync.quotes import Quote
from sync.shapes.bookings import BookingCreate, BookingOut
from tui.display import booking_code, clock_time, money, span, status_label
from tui.errors import EdgeProblem, EdgeRefusal
from tui.screens.base import StaffScreen

MAX_HOURS = Decimal(24)


def quote_lines(quote: Quote) -> list[tuple[str, int]]:
    """The quote as (label, cents) lines down to the total; the deposit is held apart."""
    lines = [("Station time", quote.base_cents)]
    if quote.cleaning_fee_cents:
        lines.append(("Cleaning", quote.cleaning_fee_cents))
    if quote.platform_fee_cents:
        lines.append(("Platform fee", quote.platform_fee_cents))
    lines.extend(
        (f"{item.display_name} {percent(item.rate)}", item.amount_cents)
        for item in quote.line_items
    )
    lines.append(("Total", quote.total_cents))
    if quote.deposit_cents:
        lines.append(("Deposit (held apart)", quote.deposit_cents))
    return lines


def percent(rate: str) -> str:
    """A rate as the fee schedule writes it (``0.0350``) shown as a percentage (``3.5%``)."""
    try:
        value = Decimal(rate) * 100
    except InvalidOperation:
        return rate
    return f"{value.normalize():f}%"


def next_quarter_hour(now: datetime) -> time:
    minutes = (now.minute // 15 + 1) * 15
    return (now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)).time()


class WalkInScreen(StaffScreen):
    """A form, the quote or clash, and confirm or release."""

    def __init__(self) -> None:
        super().__init__()
        self.hold: BookingOut | None = None
        self.choices: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])

    def body(self) -> ComposeResult:
        yield Static("Walk-in booking (today)", id="screen-title")
        with Horizontal(id="walkin-form"):
            yield Select[str]([], prompt="renter", id="renter")
            yield Select[str]([], prompt="station", id="station")
            yield Input(placeholder="HH:MM", id="start", max_length=5)
            yield Input(value="2", placeholder="hours", id="hours", max_length=5)
        yield Button("Quote and hold", id="quote")
        with VerticalScroll(id="walkin-result"):
            yield Static("", id="walkin-text", markup=False)
        with Horizontal(id="walkin-actions"):
            yield Button("Confirm booking", id="confirm", variant="success")
            yield Button("Release hold", id="release", variant="warning")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_actions(False)

    async def load(self) -> None:
        directory = self.staff.directory
        renters = [(r.name, r.id) for r in directory.renters]
        stations = [(r.name, r.id) for r in directory.resources if r.active]
        if (renters, stations) != self.choices:  # new options would clear what was picked
            self.choices = (renters, stations)
            self.query_one("#renter", Select).set_options(renters)
            self.query_one("#station", Select).set_options(stations)
        start = self.query_one("#start", Input)
        if not start.value:
            start.value = f"{next_quarter_hour(self.staff.now().astimezone(self.staff.tz)):%H:%M}"

    def _show_actions(self, shown: bool) -> None:
        self.query_one("#walkin-actions").display = shown

    def _say(self, text: str, kind: str = "") -> None:
        result = self.query_one("#walkin-result")
        result.set_class(kind == "clash", "-clash")
        result.set_class(kind == "booked", "-booked")
        self.query_one("#walkin-text", Static).update(text)

    @on(Input.Submitted)
    @on(Button.Pressed, "#quote")
    def _quote_pressed(self) -> None:
        request = self._request()
        if request is not None:
            self.quote(request)

    def _request(self) -> BookingCreate | None:
        """The form as a hold request, or None (and a hint) when something is missing."""
        renter, station = (
            self.query_one(f"#{name}", Select).value for name in ("renter", "station")
        )
        if not isinstance(renter, str) or not isinstance(station, str):
            self._say("Pick a renter and a station.")
            return None
        try:
            starts = time.fromisoformat(self.query_one("#start", Input).value.strip())
            hours = Decimal(self.query_one("#hours", Input).value.strip())
        except (ValueError, InvalidOperation):
            self._say("Start is HH:MM (24-hour clock) and hours a number such as 1.5.")
            return None
        if not 0 < hours <= MAX_HOURS:
            self._say(f"Hours must be more than 0 and at most {MAX_HOURS}.")
            return None
        now, tz = self.staff.now(), self.staff.tz
        start = datetime.combine(now.astimezone(tz).date(), starts, tzinfo=tz)
        end = start + timedelta(minutes=int(hours * 60))
        booking_id = str(uuid7(int(now.timestamp() * 1000)))
        return BookingCreate(
            id=booking_id,
            resource_id=station,
            renter_id=renter,
            start=start,
            end=end,
            status="hold",
        )

    @work(exclusive=True, group="move")
    async def quote(self, request: BookingCreate) -> None:
        staff = self.staff
        if self.hold is not None:
            await staff.call(staff.edge.move_booking(self.hold.id, "cancel"))
            self.hold = None
            self._show_actions(False)
        try:
            hold = await staff.edge.create_booking(request)
        except EdgeProblem as problem:
            if isinstance(problem, EdgeRefusal) and problem.code == "slot_taken":
                await self._show_clash(problem)
            else:
                staff.report(problem)
            return
        staff.edge_answered()
        self.hold = hold
        self._show_quote(hold)

    def _show_quote(self, hold: BookingOut) -> None:
        directory, tz = self.staff.directory, self.staff.tz
        lines = [
            f"{directory.renter_name(hold.renter_id)} · {directory.resource_name(hold.resource_id)}"
            f" · {span(hold.start, hold.end, tz)} · code {booking_code(hold.id)}",
        ]
        try:
            quote = Quote.model_validate(hold.quote)
        except ValidationError:
            lines.append(f"Total {money(hold.price_cents)}")
        else:
            lines.extend(f"  {label:<34} {money(cents):>12}" for label, cents in quote_lines(quote))
        if hold.hold_expires_at is not None:
            lines.append(f"Held until {clock_time(hold.hold_expires_at, tz)}: confirm or release.")
        self._say("\n".join(lines))
        self._show_actions(True)
        self.query_one("#confirm", Button).focus()

    async def _show_clash(self, refusal: EdgeRefusal) -> None:
        clash = refusal.details.get("clashing_booking") or {}
        text = ["SLOT TAKEN: " + refusal.message]
        if clash_id := clash.get("id"):
            staff = self.staff
            try:
                other = await staff.edge.booking(str(clash_id))
            except EdgeProblem:
                text.append(f"Clashing booking: code {booking_code(str(clash_id))}")
            else:
                directory = staff.directory
                text.append(
                    f"{directory.resource_name(other.resource_id)} is booked"
                    f" {span(other.start, other.end, staff.tz)} by"
                    f" {directory.renter_name(other.renter_id)}"
                    f" ({status_label(other.status)}, code {booking_code(other.id)})."
                )
        text.append("Pick another start time or station.")
        self._say("\n".join(text), "clash")

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.finish_hold("confirm", "Booked")

    @on(Button.Pressed, "#release")
    def _release_pressed(self) -> None:
        self.finish_hold("cancel", "Hold released")

    @work(exclusive=True, group="move")
    async def finish_hold(self, action: str, done: str) -> None:
        if self.hold is None:
            return
        booking = await self.staff.call(self.staff.edge.move_booking(self.hold.id, action))
        if booking is not None:
            self.hold = None
            self._show_actions(False)
            self._say(f"{done}: code {booking_code(booking.id)}.", "booked")
