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
