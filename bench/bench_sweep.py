"""Sweeps: 12 no-op trials through one `experiment sweep --max-concurrent 2`, against the Workbench idiom of 12
sequential `experiment submit` calls from a shell loop, side by side; and the per-trial overhead of a sweep
against a single submit.

    python bench/bench_sweep.py [--runs 5] [--trials 12]

Goal (issue 13): the sweep at most 0.6 of the loop's wall time on two cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchlib import AMLEXEC, bench_env, precompile, report, time_command

GOAL = 0.6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    precompile()
    values = ",".join(str(k) for k in range(1, args.trials + 1))
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        subprocess.run([AMLEXEC, "init", str(project)], check=True, capture_output=True, env=bench_env())
        (project / "noop.py").write_text("")
        loop = (f"for k in $(seq 1 {args.trials}); do {AMLEXEC} experiment submit -c local noop.py --k $k "
                "> /dev/null || exit 1; done")
        rows = [
            (f"shell loop of {args.trials} experiment submit (Workbench idiom)",
             time_command(["bash", "-c", loop], cwd=project, runs=args.runs)),
            (f"experiment sweep, {args.trials} trials, --max-concurrent 2",
             time_command([AMLEXEC, "experiment", "sweep", "-c", "local", "noop.py", "--param", f"k={values}",
                           "--max-concurrent", "2"], cwd=project, runs=args.runs)),
            (f"experiment sweep, {args.trials} trials, --max-concurrent 1",
             time_command([AMLEXEC, "experiment", "sweep", "-c", "local", "noop.py", "--param", f"k={values}"],
                          cwd=project, runs=args.runs)),
            ("one experiment submit",
             time_command([AMLEXEC, "experiment", "submit", "-c", "local", "noop.py"], cwd=project, runs=args.runs)),
        ]
        report(f"Sweep of {args.trials} no-op trials on the local target", rows)
        loop_s, sweep2, sweep1, single = (statistics.median(samples) for _, samples in rows)
        ratio = sweep2 / loop_s
        print(f"\n  sweep (2 at once) / loop: {ratio:.2f} ({'meets' if ratio <= GOAL else 'misses'} the {GOAL} goal)")
        print(f"  per trial: sweep with 1 at a time {1000 * sweep1 / args.trials:.0f} ms, "
              f"2 at once {1000 * sweep2 / args.trials:.0f} ms, against {1000 * single:.0f} ms for one submit")


if __name__ == "__main__":
    main()
