"""Ctrl-C, `kill` and a closed terminal while amlexec supervises a run: SIGINT, SIGTERM and SIGHUP alike.

While the run goes on, the first signal raises KeyboardInterrupt, which cancels it. While it is being
stopped, another signal kills what is left at once (the whole process group, for a local run) instead of
interrupting the cancel half way. While its record is being settled, signals wait: the record is written
in a moment, and an interrupt then would leave the run `Running`.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupts:
    """Installed for the length of one supervised run (main thread only; elsewhere it does nothing)."""

    def __init__(self) -> None:
        self.phase = "running"  # "running" -> "stopping" -> "settling"
        self._kill: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        try:
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread: signals stay as they are
            self._restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.phase == "running":
            raise KeyboardInterrupt
        if self.phase == "stopping" and self._kill is not None:
            _say("amlexec: stopping the run at once\n")
            kill, self._kill = self._kill, None
            with contextlib.suppress(Exception):  # the cancel in progress reports what is left
                kill()
        elif self.phase == "stopping":
            _say("amlexec: still stopping the run; its target confirms within its grace period\n")
        elif self.phase == "settling":
            _say("amlexec: recording the run's outcome; it takes a moment\n")

    @contextlib.contextmanager
    def stopping(self, kill: Callable[[], None] | None) -> Iterator[None]:
        """A cancel (or a stop after an error) is under way: a further signal calls `kill`, never raises."""
        self.phase, self._kill = "stopping", kill
        try:
            yield
        finally:
            self._kill = None

    def settling(self) -> None:
        self.phase, self._kill = "settling", None


def _say(text: str) -> None:
    # Raw write: a signal handler must not re-enter sys.stderr's buffer, and a hung-up terminal is ignored.
    with contextlib.suppress(OSError):
        os.write(2, text.encode())
