"""Image build progress for the person watching: a live step display on a terminal, plain lines otherwise.

Both go through the line-oriented `progress` callable (stderr). On a terminal each build step gets one
permanent line and, under it, a single status line (the step's latest output and its elapsed time) that
is rewritten in place with ANSI "cursor up, clear line"; elsewhere (CI logs, detached runs) every output
line is passed on, prefixed, so nothing is lost.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
# The classic builder's bookkeeping: kept in the build log, not worth the watcher's attention.
_NOISE = re.compile(r"^\s*(---> [0-9a-f]{12}$|---> Running in |Removing intermediate container |Successfully built )")
_ERASE_PREVIOUS = "\x1b[1A\x1b[2K"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Builder output without terminal colour codes (the classic builder colours a step's stderr red)."""
    return _ANSI.sub("", text)


def live_terminal() -> bool:
    """True when stderr is an interactive terminal that understands ANSI escapes."""
    return sys.stderr.isatty() and os.environ.get("TERM", "") not in ("", "dumb")


class BuildDisplay:
    """Turns the builder's output lines into progress lines; keeps a tail for error messages."""

    def __init__(self, progress: Callable[[str], None], *, live: bool | None = None, tail: int = 30,
                 repaint_interval: float = 0.1) -> None:
        self.progress = progress
        self.repaint_interval = repaint_interval
        self.live = live_terminal() if live is None else live
        self.tail: deque[str] = deque(maxlen=tail)
        self.step = ""
        self._status_shown = False
        self._step_started = time.monotonic()
        self._last_paint = 0.0

    def line(self, text: str) -> None:
        """One line of builder output (without its newline)."""
        text = text.rstrip()
        if not text:
            return
        m = _STEP.match(text)
        if m:
            self._clear_status()
            self.step = f"[{m.group(1)}/{m.group(2)}] {m.group(3)}"
            self._step_started = time.monotonic()
            self.progress(self.step if self.live else f"  {self.step}")
            return
        if _NOISE.match(text):
            return
        self.tail.append(text)
        if not self.live:
            self.progress(f"    {text}")
            return
        now = time.monotonic()
        if now - self._last_paint < self.repaint_interval:  # repainting faster than the eye helps only slows
            return
        self._last_paint = now
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 13)  # one line, never wrapped
        status = f"    {now - self._step_started:5.1f}s  {text[:width]}"
        self.progress((_ERASE_PREVIOUS if self._status_shown else "") + status)
        self._status_shown = True

    def finish(self) -> None:
        self._clear_status()

    def _clear_status(self) -> None:
        if self.live and self._status_shown:
            self.progress(_ERASE_PREVIOUS + "\x1b[1A")  # erase the status line, then undo this line's newline
            self._status_shown = False
