"""`python -m amlexec.runs.worker SUBMIT_FILE`: the background supervisor of a detached (`-a`) run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import AmlexecError


def run_entry(label: str, entry: Callable[[Path], int], argv: list[str]) -> int:
    """A background supervisor's main: its file argument to `entry`, an amlexec error as one line and its code
    (its stderr is the run's worker.log)."""
    try:
        return entry(Path(argv[0]))
    except AmlexecError as exc:
        print(f"amlexec {label}: error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)


def main(argv: list[str]) -> int:
    from .submit import run_worker

    return run_entry("worker", run_worker, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
