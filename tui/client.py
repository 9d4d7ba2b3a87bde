"""A typed client of the edge HTTP API: sign-in with self-refreshing tokens, one call per endpoint.

``EdgeClient`` wraps any ``httpx.AsyncClient``-like object (``HttpClient``): a real one aimed at
the edge's URL in production, ``litestar.testing.AsyncTestClient`` in tests. Every failure
becomes an ``EdgeProblem`` (``tui.errors``); answers are parsed into the ``sync`` shapes.

The access token is refreshed a minute before it expires (by the injected clock) and once more
after a 401; refreshes are serialised because each refresh token works once and reusing one
revokes the whole sign-in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from sync.shapes.audit import AuditPage, ChainReport
from sync.shapes.auth import TokenPair
from sync.shapes.bookings import BookingCreate, BookingOut, CheckInOut
from sync.shapes.conflicts import ConflictOut, ConflictResolve
from sync.shapes.documents import DocumentList, DocumentMeta, DocumentOut
from sync.shapes.site import RenterOut, ResourceOut, SiteOut
from sync.shapes.sync_status import SyncStatus
from sync.verdicts import Verdict
from tui.errors import EdgeProblem, EdgeRefusal, EdgeUnreachable, SessionExpired

API = "/api/v1"
REFRESH_MARGIN = timedelta(seconds=60)
RENTER_PAGE = 500
Clock = Callable[[], datetime]
T = TypeVar("T")


class HttpClient(Protocol):
    """The part of ``httpx.AsyncClient`` this client uses (``AsyncTestClient`` has it too)."""

    @property
    def base_url(self) -> httpx.URL: ...

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response: ...


class ReferenceInfo(BaseModel):
    """The reference bundle the edge runs on (from ``GET /health/ready``)."""

    reference_version: int
    reference_expires_at: datetime
    reference_expired: bool


@dataclass
class Session:
    """A signed-in user's tokens; ``expires_at`` is by the terminal's clock."""

    username: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    must_change_password: bool


class EdgeClient:
    """Calls to one edge on behalf of one signed-in user."""

    def __init__(self, http: HttpClient, clock: Clock) -> None:
        self.http = http
        self.clock = clock
        self.session: Session | None = None
        self._refreshing = asyncio.Lock()

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    @property
    def username(self) -> str | None:
        return self.session.username if self.session else None

    # --- sign-in ------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> Session:
        body = {"username": username, "password": password}
        pair = _parse(TokenPair, await self._send("POST", "/auth/login", json=body))
        return self._keep(username, pair)

    async def change_password(self, current: str, new: str) -> Session:
        body = {"current_password": current, "new_password": new}
        pair = await self._authorized(TokenPair, "POST", "/auth/password", json=body)
        return self._keep(self._session().username, pair)

    async def logout(self) -> None:
        """Revoke this sign-in on the edge (best effort) and forget it here."""
        session, self.session = self.session, None
        if session is not None:
            headers = {"Authorization": f"Bearer {session.access_token}"}
            body = {"refresh_token": session.refresh_token}
            await self._send("POST", "/auth/logout", json=body, headers=headers)

    def _keep(self, username: str, pair: TokenPair) -> Session:
        self.session = Session(
            username=username,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_at=self.clock() + timedelta(seconds=pair.expires_in),
            must_change_password=pair.must_change_password,
        )
        return self.session

    def _session(self) -> Session:
        if self.session is None:
            raise SessionExpired("Not signed in.")
        return self.session

    async def _refresh(self, stale: Session) -> Session:
        """Trade the refresh token for a new pair, once, however many calls are waiting."""
        async with self._refreshing:
            current = self._session()
            if current.refresh_token != stale.refresh_token:
                return current  # another call refreshed it while this one waited
            body = {"refresh_token": stale.refresh_token}
            try:
                pair = _parse(TokenPair, await self._send("POST", "/auth/refresh", json=body))
            except EdgeRefusal as refusal:
                if refusal.status in (400, 401, 403):
                    self.session = None
                    raise SessionExpired() from None
                raise
            return self._keep(stale.username, pair)

    # --- reads --------------------------------------------------------------------------------

    async def reference(self) -> ReferenceInfo:
        return _parse(ReferenceInfo, await self._send("GET", "/health/ready", prefix=""))

    async def sync_status(self) -> SyncStatus:
        return await self._authorized(SyncStatus, "GET", "/sync/status")

    async def site(self) -> SiteOut:
        return await self._authorized(SiteOut, "GET", "/site")

    async def resources(self) -> list[ResourceOut]:
        return await self._authorized(list[ResourceOut], "GET", "/resources")

    async def renters(self) -> list[RenterOut]:
        """Every renter of the site, page by page."""
        found: list[RenterOut] = []
        while True:
            params = {"limit": RENTER_PAGE, "offset": len(found)}
            page = await self._authorized(list[RenterOut], "GET", "/renters", params=params)
            found.extend(page)
            if len(page) < RENTER_PAGE:
                return found

    async def bookings(self, start: datetime, end: datetime) -> list[BookingOut]:
        """Bookings overlapping ``[start, end)`` (aware instants)."""
        params = {"from": start.isoformat(), "to": end.isoformat()}
        return await self._authorized(list[BookingOut], "GET", "/bookings", params=params)

    async def booking(self, booking_id: str) -> BookingOut:
        return await self._authorized(BookingOut, "GET", f"/bookings/{booking_id}")

    async def compliance(self, booking_id: str) -> Verdict:
        return await self._authorized(Verdict, "GET", f"/bookings/{booking_id}/compliance")

    async def documents(self, owner_kind: str, owner_id: str | None = None) -> list[DocumentOut]:
        params = {"owner_kind": owner_kind} | ({"owner_id": owner_id} if owner_id else {})
        listing = await self._authorized(DocumentList, "GET", "/documents", params=params)
        return listing.documents

    async def audit_page(self, after_seq: int, limit: int = 1000) -> AuditPage:
        params = {"after_seq": after_seq, "limit": limit}
        return await self._authorized(AuditPage, "GET", "/audit", params=params)

    async def audit_verify(self) -> ChainReport:
        return await self._authorized(ChainReport, "GET", "/audit/verify")

    async def conflicts(self) -> list[ConflictOut]:
        return await self._authorized(list[ConflictOut], "GET", "/conflicts")

    # --- writes -------------------------------------------------------------------------------

    async def create_booking(self, booking: BookingCreate) -> BookingOut:
        body = booking.model_dump(mode="json", exclude_none=True)
        return await self._authorized(BookingOut, "POST", "/bookings", json=body)

    async def move_booking(self, booking_id: str, action: str) -> BookingOut:
        """``confirm``, ``cancel`` or ``check-out`` a booking."""
        return await self._authorized(BookingOut, "POST", f"/bookings/{booking_id}/{action}")

    async def check_in(self, booking_id: str, override_reason: str | None = None) -> CheckInOut:
        body = {"override_reason": override_reason} if override_reason else None
        path = f"/bookings/{booking_id}/check-in"
        return await self._authorized(CheckInOut, "POST", path, json=body)

    async def upload_document(
        self, meta: DocumentMeta, filename: str, content: bytes, content_type: str
    ) -> DocumentOut:
        fields = {k: str(v) for k, v in meta.model_dump(mode="json", exclude_none=True).items()}
        files = {"file": (filename, content, content_type)}
        return await self._authorized(DocumentOut, "POST", "/documents", data=fields, files=files)

    async def resolve_conflict(self, conflict_id: str, resolve: ConflictResolve) -> ConflictOut:
        body = resolve.model_dump(mode="json", exclude_none=True)
        path = f"/conflicts/{conflict_id}/resolve"
        return await self._authorized(ConflictOut, "POST", path, json=body)

    # --- transport ----------------------------------------------------------------------------

    async def _authorized(self, shape: type[T], method: str, path: str, **kwargs: Any) -> T:
        """Send with the bearer token (refreshed first if due, and once after a 401)."""
        session = self._session()
        if self.clock() >= session.expires_at - REFRESH_MARGIN:
            session = await self._refresh(session)
        try:
            return _parse(shape, await self._send(method, path, session=session, **kwargs))
        except EdgeRefusal as refusal:
            if refusal.status != 401:
                raise
        session = await self._refresh(session)
        return _parse(shape, await self._send(method, path, session=session, **kwargs))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        session: Session | None = None,
        prefix: str = API,
        **kwargs: Any,
    ) -> Any:
        """One request; the decoded JSON body of a 2xx answer (None when empty)."""
        if session is not None:
            kwargs["headers"] = {"Authorization": f"Bearer {session.access_token}"}
        try:
            response = await self.http.request(method, prefix + path, **kwargs)
        except httpx.TransportError as exc:
            raise EdgeUnreachable(self.url, type(exc).__name__) from None
        if response.status_code >= 400:
            raise _refusal(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise EdgeProblem("Unexpected answer", f"{path} did not answer JSON.") from None


def _parse(shape: type[T], body: Any) -> T:
    try:
        return TypeAdapter(shape).validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        raise EdgeProblem("Unexpected answer", f"{where}: {first['msg']}") from None


def _refusal(response: httpx.Response) -> EdgeRefusal:
    """The edge's error body as a refusal; a body of another shape keeps the status."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", f"HTTP {response.status_code}", {}
    return EdgeRefusal(response.status_code, code, message, details)
