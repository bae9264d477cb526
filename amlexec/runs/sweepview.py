"""The sweep's progress as people see it: one line per trial (parameters, status, objective).

On a terminal the block of lines is redrawn in place; otherwise (a pipe, a file, the parent's driver log)
a line is printed each time a trial changes, so `history logs -r PARENT --follow` reads the same story.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any, Protocol

from .sweepstate import EARLY_TERMINATED

MAX_REDRAWN = 30  # more trials than this: the terminal shows the active ones and the count of the others


class TrialLike(Protocol):
    index: int
    params: dict[str, Any]
    run_id: str | None
    status: str
    series: list[float]
    early: bool


def trial_line(trial: TrialLike, total: int, metric: str | None) -> str:
    from .sweepspec import format_value

    params = " ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
    status = f"Canceled ({EARLY_TERMINATED})" if trial.early and trial.status == "Canceled" else trial.status
    value = f"  {metric}={format_value(trial.series[-1])}" if metric and trial.series else ""
    run = f"  {trial.run_id}" if trial.run_id else ""
    return f"trial {trial.index + 1}/{total}  {params}  {status}{value}{run}"


class LiveView:
    """Calls `show(trials)` after every round of the sweep loop; writes only what changed."""

    def __init__(self, metric: str | None, *, out: IO[str] | None,
                 log: Callable[[str], None] | None = None) -> None:
        self.metric = metric
        self.out = out  # None: a detached sweep, seen through its driver log only
        self.log = log  # the parent's driver log: plain lines
        self.tty = out is not None and _is_tty(out)
        self._lines: dict[int, str] = {}
        self._drawn = 0

    def __call__(self, trials: list[Any]) -> None:
        total = len(trials)
        lines = {t.index: trial_line(t, total, self.metric) for t in trials
                 if t.run_id is not None or t.status != "NotStarted"}
        changed = [lines[i] for i in sorted(lines) if self._lines.get(i) != lines[i]]
        if not changed:
            return
        self._lines = lines
        if self.log is not None:
            for line in changed:
                self.log(line)
        if self.tty:
            self._redraw(trials)
        else:
            for line in changed:
                self._write(line + "\n")

    def _redraw(self, trials: list[Any]) -> None:
        shown = [self._lines[i] for i in sorted(self._lines)]
        if len(shown) > MAX_REDRAWN:
            active = [self._lines[t.index] for t in trials if t.index in self._lines and t.active]
            shown = [*active[-MAX_REDRAWN + 1:], f"... {len(self._lines) - len(active)} more trials ended"]
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self._write(up + "".join(f"\x1b[2K{line}\n" for line in shown))
        self._drawn = len(shown)

    def _write(self, text: str) -> None:
        if self.out is None:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):  # a closed terminal must not stop the sweep
            pass


def _is_tty(out: IO[str]) -> bool:
    try:
        return out.isatty() and os.environ.get("TERM", "") != "dumb"
    except (OSError, ValueError):
        return False
