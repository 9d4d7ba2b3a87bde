"""Errors of the hub, each with its HTTP status and a stable code.

HubError                      422 anything the hub refuses on purpose
├── InvalidInput              400 a request that does not make sense
├── Unauthorized              401 no valid credentials (or a revoked node)
├── Forbidden                 403 the signed-in user's role may not do this
├── NotFound                  404 no such object
├── Conflict                  409 the state does not allow it
├── ClockAhead                422 a node's changes are stamped too far ahead of the hub's clock
├── PreconditionFailed        412 a stated precondition does not hold
├── PayloadTooLarge           413 more than the limits allow
├── TooManyRequests           429 slow down (``details.retry_after`` in seconds when known)
├── Unavailable               503 a dependency (PostgreSQL) does not answer
└── SetupError                the settings or environment are unusable (CLI: exit 2)

Domain code raises these; ``hub.errors_http`` maps every one to
``{"error": {"code", "message", "details"}}``. Subclass a branch to add a code, never a status.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    status = 422
    code = "unprocessable"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(HubError):
    status = 400
    code = "invalid_input"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class ClockAhead(HubError):
    """A node's changes are stamped more than the allowed skew ahead of the hub's clock."""

    status = 422
    code = "clock_ahead"


class PreconditionFailed(HubError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(HubError):
    status = 429
    code = "too_many_requests"


class Unavailable(HubError):
    status = 503
    code = "unavailable"


class SetupError(HubError):
    status = 500
    code = "setup_error"
