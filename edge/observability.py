"""What an operator sees of a running edge: JSON log lines with a request id, and ``/metrics``.

Logs: one JSON object per line (``time``, ``level``, ``logger``, ``message``, ``request_id`` and,
for the access line of a request, ``method``, ``path``, ``status``, ``duration_ms``). The request
id comes from a well-formed ``X-Request-ID`` or is generated, and is echoed in the response.
Only the path is logged, never the query string (a renter lookup carries an email there), the
headers or the body; as a safety net, bearer tokens, JWTs and ``password=``-style pairs are
masked in any message.

Metrics live in a per-app ``CollectorRegistry`` (tests build many apps): request latency by
route and status; verdicts and job outcomes from ``EdgeServices.counters`` (see
``count_verdict``); outbox depth, audit sequence and reference version read from the database
on each scrape.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from litestar import Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import text

from edge.services import EdgeServices
from sync.verdicts import Outcome

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
CONTEXT_FIELDS = ("job", "outcome", "count")
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MASKS = (
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[redacted]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pin|token|secret|authorization)"
            r"(\W{0,3}[:=]\W{0,2})[^\s,;&\"'}]+"
        ),
        r"\1\2[redacted]",
    ),
)

request_id_var: ContextVar[str | None] = ContextVar("prep_edge_request_id", default=None)
access_log = logging.getLogger("prep.edge.access")


# --- logs -----------------------------------------------------------------------------------------


def mask_secrets(message: str) -> str:
    """``message`` with bearer tokens, JWTs and ``password=...``-style values masked."""
    for pattern, replacement in _MASKS:
        message = pattern.sub(replacement, message)
    return message


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_secrets(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for name in (*ACCESS_FIELDS, *CONTEXT_FIELDS):
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record, as JSON lines, to ``stream`` (standard error by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log their own runs
    return handler


# --- metrics --------------------------------------------------------------------------------------


def count_verdict(services: EdgeServices, result: str) -> None:
    """Count one check-in verdict (``ALLOW``, ``CONDITIONS``, ``DENY``) for ``/metrics``."""
    key = f"verdict:{result}"
    services.counters[key] = services.counters.get(key, 0) + 1


def count_job(services: EdgeServices, job: str, outcome: str) -> None:
    """Count one scheduled job run by its outcome (``ok`` or ``error``)."""
    key = f"job:{job}:{outcome}"
    services.counters[key] = services.counters.get(key, 0) + 1


class CounterCollector(Collector):
    """Exposes the plain counters of the bound ``EdgeServices`` as Prometheus counters."""

    def __init__(self) -> None:
        self.services: EdgeServices | None = None

    def collect(self) -> Iterator[CounterMetricFamily]:
        counters = {f"verdict:{outcome.value}": 0 for outcome in Outcome}  # zeros until counted
        counters.update(self.services.counters if self.services is not None else {})
        verdicts = CounterMetricFamily(
            "prep_edge_verdicts", "Check-in verdicts by result", labels=["result"]
        )
        jobs = CounterMetricFamily(
            "prep_edge_job_runs", "Scheduled job runs by job and outcome", labels=["job", "outcome"]
        )
        for key, value in sorted(counters.items()):
            kind, _, rest = key.partition(":")
            if kind == "verdict":
                verdicts.add_metric([rest], value)
            elif kind == "job":
                job, _, outcome = rest.rpartition(":")
                jobs.add_metric([job, outcome], value)
        yield verdicts
        yield jobs


class Metrics:
    """The app's registry and its metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "prep_edge_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.outbox_depth = Gauge(
            "prep_edge_outbox_depth", "Changes waiting to sync", registry=self.registry
        )
        self.audit_seq = Gauge(
            "prep_edge_audit_sequence", "Last audit event sequence number", registry=self.registry
        )
        self.reference_version = Gauge(
            "prep_edge_reference_version", "Reference bundle version in use", registry=self.registry
        )
        self.counters = CounterCollector()
        self.registry.register(self.counters)

    def bind(self, services: EdgeServices | None) -> None:
        """Read counters from ``services`` (set in the lifespan, cleared at shutdown)."""
        self.counters.services = services

    async def refresh(self, services: EdgeServices) -> None:
        """Read the database-backed gauges (called on each scrape)."""
        async with services.db.read() as session:
            conn = await session.connection()
            depth = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
            seq = (await conn.execute(text("SELECT audit_seq FROM node_state"))).scalar_one()
        self.outbox_depth.set(depth)
        self.audit_seq.set(seq)
        self.reference_version.set(services.reference.version)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@get("/metrics", tags=["operations"], include_in_schema=True)
async def metrics_page(
    services: NamedDependency[EdgeServices], metrics: NamedDependency[Metrics]
) -> Response[bytes]:
    """Prometheus metrics (no authentication)."""
    await metrics.refresh(services)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


# --- requests -------------------------------------------------------------------------------------


class RequestContextMiddleware(ASGIMiddleware):
    """Gives each request an id, times it, logs one access line and observes its latency."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500  # if the app dies before answering, that is what the client sees
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method, path = str(scope.get("method", "-")), scope["path"]
            route = scope.get("path_template") or "unmatched"
            self.metrics.latency.labels(route, method, str(status)).observe(elapsed)
            fields = {"method": method, "path": path, "status": status}
            duration_ms = round(elapsed * 1000, 2)
            access_log.info(
                "%s %s %d", method, path, status, extra={**fields, "duration_ms": duration_ms}
            )
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _GOOD_ID.fullmatch(candidate) else None
    return None
