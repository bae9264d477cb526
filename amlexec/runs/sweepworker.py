"""`python -m amlexec.runs.sweepworker FILE`: the background supervisor of a detached (`-a`) sweep."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AmlexecError


def main(argv: list[str]) -> int:
    from .sweep import run_worker

    try:
        return run_worker(Path(argv[0]))
    except AmlexecError as exc:
        print(f"amlexec sweep worker: error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
