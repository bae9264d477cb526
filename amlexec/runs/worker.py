"""`python -m amlexec.runs.worker SUBMIT_FILE`: the background supervisor of a detached (`-a`) run."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AmlexecError


def main(argv: list[str]) -> int:
    from .submit import run_worker

    try:
        return run_worker(Path(argv[0]))
    except AmlexecError as exc:
        print(f"amlexec worker: error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
