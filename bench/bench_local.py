"""Local target: a no-op script through amlexec against the bare interpreter, side by side.

    python bench/bench_local.py [--runs 15]

Goal (issue 2): the whole `amlexec experiment submit -c local noop.py` under 0.15 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import AMLEXEC, bench_env, precompile, report, time_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        subprocess.run([AMLEXEC, "init", str(project)], check=True, capture_output=True, env=bench_env())
        (project / "noop.py").write_text("")
        python = sys.executable
        rows = [
            ("python noop.py (bare)", time_command([python, "noop.py"], cwd=project, runs=args.runs)),
            ("amlexec experiment submit -c local noop.py",
             time_command([AMLEXEC, "experiment", "submit", "-c", "local", "noop.py"], cwd=project, runs=args.runs)),
            ("amlexec --help", time_command([AMLEXEC, "--help"], cwd=project, runs=args.runs)),
            ("amlexec history list (after the runs above)",
             time_command([AMLEXEC, "history", "list"], cwd=project, runs=args.runs)),
        ]
        report("Local target: no-op script", rows)
        submit = statistics.median(rows[1][1])
        bare = statistics.median(rows[0][1])
        verdict = "meets" if submit < 0.15 else "misses"
        print(f"\n  local submit: {submit * 1000:.0f} ms in all, {1000 * (submit - bare):.0f} ms added by amlexec; "
              f"{verdict} the 150 ms goal")


if __name__ == "__main__":
    main()
