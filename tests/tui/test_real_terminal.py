"""``prep-tui`` in a real terminal (tmux) against a served demo edge: sign in, see the bookings.

The edge is ``python -m edge.demo`` on a free loopback port, as ``make run`` serves it; the
terminal is read with ``tmux capture-pane``. tmux runs on a private socket, so nothing else's
sessions are touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.demo import STAFF_PASSWORD, STAFF_USERNAME
from tests.e2e.processes import Service, Timeline, script, tail, wait_until

WIDTH, HEIGHT = 100, 30
DEMO_READY_SECONDS = 120  # the first run builds and seeds the demo kitchen


class Tmux:
    """One detached tmux session on its own server (socket), read and typed into."""

    def __init__(self, socket: str) -> None:
        self.base = [shutil.which("tmux") or "/usr/bin/tmux", "-L", socket]

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def start(self, command: list[str], env: dict[str, str]) -> None:
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "tui", *size, *command],
            check=True,
            env=env,
            timeout=30,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "tui")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "tui", "-l", text)

    def press(self, *keys: str) -> None:
        self.run("send-keys", "-t", "tui", *keys)

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=30, check=False)


@pytest.fixture
def demo_edge(tmp_path: Path) -> Iterator[Service]:
    argv = [sys.executable, "-m", "edge.demo", "--root", str(tmp_path / "demo")]
    edge = Service("demo edge", argv, dict(os.environ), tmp_path / "edge.log", Timeline())
    edge.launch()
    try:
        edge.wait_ready(timeout=DEMO_READY_SECONDS)
        yield edge
    finally:
        edge.kill()


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux(f"prep-tui-test-{os.getpid()}")
    try:
        yield session
    finally:
        session.kill()


def test_prep_tui_signs_in_and_shows_the_demo_bookings(
    demo_edge: Service, tmux: Tmux, tmp_path: Path
) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    command = [script("prep-tui"), "--edge", demo_edge.url, "--packet-dir", str(tmp_path)]
    tmux.start(command, env)

    def explain() -> str:
        return f"--- screen\n{tmux.screen()}\n--- edge log\n{tail(demo_edge.log)}"

    def showing(*texts: str) -> bool:
        screen = tmux.screen()
        return all(text in screen for text in texts)

    # Each field is typed once the screen says it has the focus: keys typed ahead of a focus
    # change would land in the field before it.
    wait_until(lambda: showing("Your username, then Enter."), explain)
    tmux.type(STAFF_USERNAME)
    tmux.press("Enter")
    wait_until(lambda: showing("Your password or PIN, then Enter to sign in."), explain)
    tmux.type(STAFF_PASSWORD)
    tmux.press("Enter")
    wait_until(lambda: showing("signed in as staff", "Today ·"), explain)
    # The demo books today, or tomorrow morning when it is set up late in the day.
    if not showing("Artisan Bakery"):
        tmux.press("]")
    wait_until(lambda: showing("Artisan Bakery", "Startup Foods", "Fog City Catering"), explain)
    screen = tmux.screen()
    assert "Station 1 - bak" in screen and "Cold prep room" in screen
    assert "rules v" in screen  # the status bar
    tmux.press("q")
    wait_until(lambda: "tui" not in _sessions(tmux), explain)


def _sessions(tmux: Tmux) -> str:
    listed = subprocess.run(
        [*tmux.base, "list-sessions"], capture_output=True, text=True, timeout=30, check=False
    )
    return listed.stdout
