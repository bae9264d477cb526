"""`python -m amlexec.runs.sweepworker FILE`: the background supervisor of a detached (`-a`) sweep."""

from __future__ import annotations

import sys

from .worker import run_entry


def main(argv: list[str]) -> int:
    from .sweep import run_worker

    return run_entry("sweep worker", run_worker, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
