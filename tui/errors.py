"""Errors of the staff terminal: every failed edge call becomes one ``EdgeProblem`` with a title.

EdgeProblem              an edge call that did not give what was asked (title + message)
├── EdgeUnreachable      no answer at all: refused, reset or timed out (a banner, then retried)
├── SessionExpired       not signed in, or the refresh token no longer works (back to login)
└── EdgeRefusal          the edge answered with its error body (status, code, details kept)

Screens show ``title`` and ``message`` in a dialog; nothing else is caught.
"""

from __future__ import annotations

from typing import Any

TITLES_BY_CODE = {
    "slot_taken": "Slot taken",
    "compliance_denied": "Check-in refused",
    "invalid_input": "Not accepted",
    "payload_too_large": "File too large",
    "unsupported_media_type": "Unsupported file type",
    "too_many_requests": "Too many attempts",
}
TITLES_BY_STATUS = {
    400: "Not accepted",
    401: "Sign-in failed",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    412: "Check-in refused",
    422: "Not accepted",
    429: "Too many attempts",
}


class EdgeProblem(Exception):
    """A failed edge call, told as a dialog title and a sentence."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message


class EdgeUnreachable(EdgeProblem):
    """The edge did not answer (it is down, restarting or the cable is out)."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__("Edge unreachable", f"No answer from {url} ({cause}).")
        self.url = url


class SessionExpired(EdgeProblem):
    """No usable session: sign in again."""

    def __init__(self, message: str = "Your session has ended; please sign in again.") -> None:
        super().__init__("Signed out", message)


class EdgeRefusal(EdgeProblem):
    """The edge answered with an error: its HTTP status, stable code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        title = TITLES_BY_CODE.get(code) or TITLES_BY_STATUS.get(status) or "Edge error"
        super().__init__(title, message)
        self.status = status
        self.code = code
        self.details = details
