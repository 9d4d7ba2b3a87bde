"""Real ``prep-hub`` and ``prep-edge`` processes for end-to-end tests, on loopback ports.

``Command`` is a one-shot command (``migrate``, ``init``, ``enroll`` ...): its standard output,
or a failure showing both streams. ``Service`` is one long-running ``serve``: started on a free
port with its output appended to a log file, ready once ``/health/ready`` answers 200, stopped
with SIGTERM or killed with SIGKILL. ``Services`` starts both kinds and keeps them, so the
teardown kills whatever is still running, even after a failure; its ``Timeline`` notes when each
service started, stopped or was killed. ``wait_until`` polls a condition and fails with a
caller-supplied explanation (the timeline and log tails).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

BIN = Path(sys.executable).parent  # the venv's console scripts sit beside its python
LOG_TAIL_LINES = 30
LOG_NOISE = ('"job sync done: not due"',)  # logged twice a second by every edge
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def script(name: str) -> str:
    """The path of a console script (``prep-hub``, ``prep-edge``) of this environment."""
    path = BIN / name
    assert path.exists(), f"{path} is missing: run `make install`"
    return str(path)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, without the sync job's idle ticks."""
    if not path.exists():
        return ""
    kept = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if not any(noise in line for noise in LOG_NOISE)
    ]
    return "\n".join(kept[-lines:])


class Timeline:
    """What the test did and when, in seconds since it began: the first part of a failure."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.events: list[str] = []

    def note(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.began:7.2f}s  {text}")

    def __str__(self) -> str:
        return "--- timeline\n" + "\n".join(self.events)


class Command:
    """A one-shot command (``migrate``, ``init``, ``enroll`` ...), started at once.

    ``stdin``, if given, is its one line of input; ``wait`` returns its standard output, or
    fails with both streams when it exits non-zero.
    """

    def __init__(self, argv: list[str], env: dict[str, str], stdin: str | None = None) -> None:
        self.argv = argv
        self.stdin = None if stdin is None else f"{stdin}\n"
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 60) -> str:
        try:
            out, err = self.process.communicate(self.stdin, timeout)
        finally:
            self.kill()
        assert self.process.returncode == 0, (
            f"{' '.join(self.argv[:3])} exited {self.process.returncode}\n"
            f"--- stdout\n{out}\n--- stderr\n{err}"
        )
        return out

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(
    condition: Callable[[], T | None],
    explain: Callable[[], str],
    timeout: float = 20,
    every: float = 0.1,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``explain()`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s\n{explain()}")
        time.sleep(every)


class Service:
    """One ``serve`` process on a fixed loopback port; restartable on the same port."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log: Path, timeline: Timeline
    ) -> None:
        self.name = name
        self.timeline = timeline
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [*argv, "--host", "127.0.0.1", "--port", str(self.port)]
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        # One client for every request to this service: a new one per request would build a
        # TLS context each time, and its CPU shows in every timing here.
        self.http = httpx.Client(base_url=self.url, timeout=30)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process and wait until it is ready."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process, its output appended to the log; ``wait_ready`` waits for it."""
        assert not self.running, f"{self.name} is already running"
        self.timeline.note(f"{self.name}: start")
        with self.log.open("ab") as sink:
            sink.write(f"=== start {' '.join(self.argv)}\n".encode())
            sink.flush()
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited {self.process.returncode} at start\n{self.explain()}"
                )
            try:
                if self.http.get("/health/ready", timeout=1).status_code == 200:
                    self.timeline.note(f"{self.name}: ready on {self.url}")
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} was not ready in {timeout} s\n{self.explain()}")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; a process that will not stop is killed and the test fails."""
        assert self.process is not None and self.running, f"{self.name} is not running"
        self.timeline.note(f"{self.name}: SIGTERM")
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} ignored SIGTERM for {timeout} s\n{self.explain()}"
            ) from None
        assert code in (0, -signal.SIGTERM), f"{self.name} stopped with {code}\n{self.explain()}"
        self.timeline.note(f"{self.name}: stopped ({code})")
        return code

    def kill(self) -> None:
        """SIGKILL (no goodbye) and reap."""
        if self.process is not None and self.running:
            self.process.kill()
            self.process.wait(timeout=10)
            self.timeline.note(f"{self.name}: killed")

    def explain(self, lines: int = LOG_TAIL_LINES) -> str:
        return f"--- {self.name} log ({self.log}), last {lines} lines\n{tail(self.log, lines)}"


class Services:
    """Every service of a test: started through here, killed together at teardown."""

    def __init__(self) -> None:
        self.all: list[Service] = []
        self.commands: list[Command] = []
        self.timeline = Timeline()

    def command(self, argv: list[str], env: dict[str, str], stdin: str | None = None) -> Command:
        """Start a one-shot command; ``.wait()`` for its output."""
        command = Command(argv, env, stdin)
        self.commands.append(command)
        return command

    def add(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> Service:
        service = Service(name, argv, env, log, self.timeline)
        self.all.append(service)
        return service

    def explain(self, lines: int = LOG_TAIL_LINES) -> str:
        """The timeline, then the tail of every service's log."""
        return "\n".join([str(self.timeline), *(s.explain(lines) for s in self.all)])

    def kill_all(self) -> None:
        for command in self.commands:
            command.kill()
        for service in self.all:
            service.kill()
            service.http.close()
