"""What an operator sees of a running hub: JSON logs with a request id, metrics, the hub time.

Logs: one JSON object per line (``time``, ``level``, ``logger``, ``message``, ``request_id`` and,
for a request's access line, ``method``, ``path``, ``status``, ``duration_ms``). The request id
comes from a well-formed ``X-Request-ID`` or is generated, and is echoed in the response. Only
the path is logged, never the query string, headers or body; bearer tokens, JWTs and
``password=``-style pairs are masked in any message as a safety net.

Metrics live in a per-app ``CollectorRegistry`` (tests build many apps): request latency by
route and status, counters from ``HubServices.counters``, and fleet gauges (nodes, open
conflicts, each node's reported outbox depth and lag, latest reference bundle) read from the
database on each scrape. ``hub_time_hook`` stamps ``X-Hub-Time`` on every response, 404s included.
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

from asyncpg import PostgresError
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, BeforeMessageSendHookHandler, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub.clock import Clock, epoch_ms
from hub.services import HubServices

REQUEST_ID_HEADER = "X-Request-ID"
HUB_TIME_HEADER = "X-Hub-Time"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MASKS = (
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[redacted]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|token|secret|authorization)"
            r"(\W{0,3}[:=]\W{0,2})[^\s,;&\"'}]+"
        ),
        r"\1\2[redacted]",
    ),
)

request_id_var: ContextVar[str | None] = ContextVar("prep_hub_request_id", default=None)
access_log = logging.getLogger("prep.hub.access")
log = logging.getLogger("prep.hub")


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
        for name in ACCESS_FIELDS:
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
    return handler


# --- metrics --------------------------------------------------------------------------------------


class CounterCollector(Collector):
    """Exposes ``HubServices.counters`` (``kind:label``) as ``prep_hub_events_total``."""

    def __init__(self) -> None:
        self.services: HubServices | None = None

    def collect(self) -> Iterator[CounterMetricFamily]:
        events = CounterMetricFamily(
            "prep_hub_events", "Counted hub events by kind and label", labels=["kind", "label"]
        )
        counters = self.services.counters if self.services is not None else {}
        for key, value in sorted(counters.items()):
            kind, _, label = key.partition(":")
            events.add_metric([kind, label], value)
        yield events


class Metrics:
    """The app's registry and its metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "prep_hub_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        gauge = self._gauge
        self.database_up = gauge("prep_hub_database_up", "1 if PostgreSQL answered the scrape")
        self.nodes = gauge("prep_hub_nodes", "Enrolled nodes by state", ["state"])
        self.open_conflicts = gauge("prep_hub_open_conflicts", "Booking conflicts not resolved")
        self.outbox_depth = gauge(
            "prep_hub_node_outbox_depth", "Outbox depth each node last reported", ["node_id"]
        )
        self.lag = gauge(
            "prep_hub_node_lag_seconds", "Age of each node's oldest unsent change", ["node_id"]
        )
        self.reference_version = gauge(
            "prep_hub_reference_version", "Latest published reference bundle (0: none)"
        )
        self.counters = CounterCollector()
        self.registry.register(self.counters)

    def _gauge(self, name: str, doc: str, labels: list[str] | None = None) -> Gauge:
        return Gauge(name, doc, labels or [], registry=self.registry)

    def bind(self, services: HubServices | None) -> None:
        """Read counters from ``services`` (set in the lifespan, cleared at shutdown)."""
        self.counters.services = services

    async def refresh(self, services: HubServices) -> None:
        """Read the database-backed gauges; a database that does not answer sets ``up`` to 0."""
        try:
            await self._read_fleet(services)
        except (OSError, SQLAlchemyError, PostgresError) as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            self.database_up.set(0)
        else:
            self.database_up.set(1)

    async def _read_fleet(self, services: HubServices) -> None:
        now = services.clock.now()
        async with services.db.read() as session:
            conn = await session.connection()
            active, revoked = (
                await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE revoked_at IS NULL), "
                        "count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM node"
                    )
                )
            ).one()
            conflicts = await conn.scalar(text("SELECT count(*) FROM conflict WHERE status='open'"))
            version = await conn.scalar(text("SELECT max(version) FROM reference_bundle"))
            reports = (
                await conn.execute(
                    text(
                        "SELECT id, reported_outbox_depth, reported_oldest_unsent_at "
                        "FROM node WHERE revoked_at IS NULL"
                    )
                )
            ).all()
        self.nodes.labels("active").set(active)
        self.nodes.labels("revoked").set(revoked)
        self.open_conflicts.set(conflicts or 0)
        self.reference_version.set(version or 0)
        self.outbox_depth.clear()
        self.lag.clear()
        for node_id, depth, oldest in reports:
            if depth is not None:
                self.outbox_depth.labels(node_id).set(depth)
                self.lag.labels(node_id).set((now - oldest).total_seconds() if oldest else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


# --- requests -------------------------------------------------------------------------------------


def hub_time_hook(clock: Clock) -> BeforeMessageSendHookHandler:
    """A ``before_send`` hook stamping ``X-Hub-Time`` (ms since the epoch) on every response."""

    async def stamp(message: Message, scope: Scope) -> None:  # async: a sync hook runs in a thread
        if message["type"] == "http.response.start":
            MutableScopeHeaders.from_message(message)[HUB_TIME_HEADER] = str(epoch_ms(clock.now()))

    return stamp


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
            access_log.info(
                "%s %s %d",
                method,
                path,
                status,
                extra={**fields, "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _GOOD_ID.fullmatch(candidate) else None
    return None
