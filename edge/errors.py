"""Errors of the edge appliance, each with its HTTP status and a stable code.

EdgeError                     422 anything the edge refuses on purpose
├── InvalidInput              400/422 a request that does not make sense
├── Unauthorized              401 no valid credentials
├── Forbidden                 403 the signed-in user's role may not do this
├── NotFound                  404 no such object
├── Conflict                  409 the state does not allow it
│   └── SlotTaken             409 another active booking holds the resource then
├── ComplianceDenied          412 check-in refused by the compliance engine
├── PayloadTooLarge           413
├── UnsupportedMedia          415
├── HubUnreachable            503 the hub did not answer or asked to come back later
├── HubRefused                502 the hub refused what this node sent (its code is kept)
└── SetupError                the data directory or settings are unusable (CLI: exit 2)
"""

from __future__ import annotations

from typing import Any


class EdgeError(Exception):
    status = 422
    code = "unprocessable"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(EdgeError):
    status = 422
    code = "invalid_input"


class Unauthorized(EdgeError):
    status = 401
    code = "unauthorized"


class Forbidden(EdgeError):
    status = 403
    code = "forbidden"


class NotFound(EdgeError):
    status = 404
    code = "not_found"


class Conflict(EdgeError):
    status = 409
    code = "conflict"


class SlotTaken(Conflict):
    code = "slot_taken"


class ComplianceDenied(EdgeError):
    status = 412
    code = "compliance_denied"


class PayloadTooLarge(EdgeError):
    status = 413
    code = "payload_too_large"


class UnsupportedMedia(EdgeError):
    status = 415
    code = "unsupported_media_type"


class TooManyAttempts(EdgeError):
    status = 429
    code = "too_many_requests"


class SetupError(EdgeError):
    status = 500
    code = "setup_error"


class HubUnreachable(EdgeError):
    """No answer, a transport error, or the hub asked us to come back later (5xx, 429)."""

    code = "hub_unreachable"
    status = 503

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class HubRefused(EdgeError):
    """The hub answered with a refusal (4xx): retrying the same request will not help."""

    code = "hub_refused"
    status = 502

    def __init__(self, message: str, status: int, hub_code: str) -> None:
        super().__init__(message, {"hub_status": status, "hub_code": hub_code})
        self.hub_status = status
        self.hub_code = hub_code
