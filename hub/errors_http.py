"""Maps every error to the contract's JSON shape: ``{"error": {"code", "message", "details"}}``.

Hub errors carry their own status; Litestar's validation errors become 400 with the field;
unknown routes 404; a database or disk that does not answer 503; anything unexpected 500 with
a generic message (the cause is logged, never sent to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from asyncpg import exceptions as pg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from hub.errors import HubError

log = logging.getLogger("prep.hub")

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
    503: "unavailable",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[Any]:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status_code=status, media_type=MediaType.JSON)


def on_hub_error(_request: Request[Any, Any, Any], exc: HubError) -> Response[Any]:
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


def on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("backing service unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503, "unavailable", "the database or storage is not answering; try again soon"
    )


def on_bad_value(_request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    """A value PostgreSQL cannot hold (a NUL character, a number out of range) is bad input."""
    return error_response(400, "bad_request", "a value in the request cannot be stored")


def on_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    if isinstance(getattr(exc.orig, "__cause__", None), pg.DataError):
        return on_bad_value(request, exc)
    return on_unexpected(request, exc)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong; it has been logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HubError: on_hub_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    OSError: on_unavailable,  # asyncpg could not connect, or the disk refused
    OperationalError: on_unavailable,
    InterfaceError: on_unavailable,
    DBAPIError: on_database_error,
    # Raised by asyncpg itself, unwrapped: when connecting, or on the raw driver connection.
    pg.PostgresConnectionError: on_unavailable,
    pg.CannotConnectNowError: on_unavailable,
    pg.TooManyConnectionsError: on_unavailable,
    pg.InvalidCatalogNameError: on_unavailable,
    pg.InvalidAuthorizationSpecificationError: on_unavailable,
    pg.DataError: on_bad_value,
    Exception: on_unexpected,
}
