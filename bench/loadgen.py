"""A lean open-loop HTTP/1.1 load generator for loopback benchmarks.

httpx costs about a millisecond of CPU per request, which on a 2-core box is CPU taken from the
server being measured. This client writes each request as bytes on a keep-alive connection from
a pool and reads the answer by ``Content-Length``: tens of microseconds per request. Requests
are fired on a fixed schedule regardless of replies (open loop), and each latency is measured
from the moment the request was due, so a stalled server cannot hide its queue (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None


IDLE_S = 2.0  # well inside uvicorn's keep-alive timeout (5 s): older idle connections are dropped


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0


@dataclass
class Pool:
    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict)
    limit: int = 256
    _idle: list[Connection] = field(default_factory=list)
    _open: int = 0
    _slots: asyncio.Semaphore | None = None

    async def _connection(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if time.perf_counter() - connection.idle_since < IDLE_S:
                return connection
            connection.writer.close()
            self._open -= 1
        self._open += 1
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer)

    def _encode(self, call: Call) -> bytes:
        body = b"" if call.body is None else json.dumps(call.body).encode()
        lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if call.body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def send(self, call: Call) -> tuple[int, bytes]:
        """One request; answers the status and the body (waits while ``limit`` are in flight)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            return await self._send(call)

    async def _send(self, call: Call) -> tuple[int, bytes]:
        connection = await self._connection()
        connection.writer.write(self._encode(call))
        head = await connection.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await connection.reader.readexactly(length) if length else b""
        connection.idle_since = time.perf_counter()
        self._idle.append(connection)
        return status, body

    async def close(self) -> None:
        for connection in self._idle:
            connection.writer.close()
        self._idle.clear()


def percentiles(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p99_ms": cuts[98]}


async def open_loop(
    pool: Pool, rate: float, count: int, call_for: Callable[[int], Call]
) -> dict[str, Any]:
    """Fire ``count`` calls at ``rate`` per second; latency counts from when each was due."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(index: int, due: float) -> None:
        status, _ = await pool.send(call_for(index))
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    start = time.perf_counter()
    for index in range(count):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {
        "rate": rate,
        "sent": count,
        "achieved_per_s": count / elapsed,
        "statuses": statuses,
        **percentiles(latencies),
    }
