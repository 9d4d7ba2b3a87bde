"""Maps every error to the contract's JSON shape: ``{"error": {"code", "message", "details"}}``.

Domain errors carry their own status; Litestar's validation errors become 400 with the field;
unknown routes 404; anything unexpected 500 with a generic message (the cause is logged, never
sent to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from edge.errors import EdgeError

log = logging.getLogger("prep.edge")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[Any]:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status_code=status, media_type=MediaType.JSON)


def on_edge_error(_request: Request[Any, Any, Any], exc: EdgeError) -> Response[Any]:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def on_validation_error(
    _request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    fields = [
        {"field": e.get("key"), "message": e.get("message")} for e in extra if isinstance(e, dict)
    ]
    message = fields[0]["message"] if fields and fields[0]["message"] else str(exc.detail)
    where = f"{fields[0]['field']}: " if fields and fields[0]["field"] else ""
    return error_response(400, "bad_request", f"{where}{message}", {"fields": fields})


def on_http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    return error_response(status, _CODES.get(status, "error"), str(exc.detail))


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong; it has been logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    EdgeError: on_edge_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
