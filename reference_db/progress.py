"""A progress bar on standard error: redrawn in place on a terminal, else a line per step."""

from __future__ import annotations

from typing import TextIO

_WIDTH = 24


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.count = 0
        self.interactive = stream.isatty()

    def step(self, what: str) -> None:
        self.count = min(self.count + 1, self.total)
        filled = _WIDTH * self.count // self.total
        bar = "#" * filled + "." * (_WIDTH - filled)
        line = f"{self.label} [{bar}] {self.count}/{self.total} {what}"
        if self.interactive:
            self.stream.write(f"\r{line:<72}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
