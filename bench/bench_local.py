"""Local target: a no-op script through amlexec against the bare interpreter, side by side; and
`history list` on a long history.

    python bench/bench_local.py [--runs 15] [--history-runs 10000] [--python-location PATH]

Goals: the whole `amlexec experiment submit -c local noop.py` under 0.15 s (issue 2); with 10,000 runs
in history, `amlexec history list` (the default table view) at most 0.25 s and
`amlexec history list --last 10000 -o json` at most 0.6 s (issue 10).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import AMLEXEC, bench_env, precompile, report, time_command

HISTORY_GOALS = {"table": 0.25, "json": 0.6}


def build_history(project: Path, count: int) -> float:
    """`count` finished runs written straight through the run store, shaped like the runs of `amlexec
    init`'s train.py on the local target (properties, handle and supervisor as a real run records them;
    two scalars and a 10-point loss curve; logs; one output file), every tenth Failed with no metrics.
    Returns the seconds it took."""
    from amlexec.history.store import HistoryStore, iso_utc

    started = time.perf_counter()
    rng = random.Random(7)
    store = HistoryStore(project / ".amlexec")
    begin = time.time() - count * 60.0
    for number in range(count):
        when = begin + number * 60.0
        record = store.create_run(
            project=project.name, status="Running", script_name="train.py", arguments=["--epochs", "50"],
            runconfig="local", target="local", target_type="local", start_time_utc=iso_utc(when + 0.2),
            properties={"CommitId": None, "snapshot_files": 8, "snapshot_bytes": 5242,
                        "python": "/usr/bin/python3 (pythonLocation 'python')", "python_source": "pythonLocation"},
            supervisor={"pid": 4208 + number, "start": 138806})
        run_dir = store.run_dir(record.run_id)
        store.update(record.run_id, handle={"pid": 4211 + number, "start": 138880, "run_dir": str(run_dir),
                                            "command": ["/usr/bin/python3", "train.py", "--epochs", "50"]})
        (run_dir / "driver_log.txt").write_text("learning rate 0.05: a=2.990 b=1.010 mse=0.01000\n")
        (run_dir / "control_log.txt").write_text("target local\n")
        if number % 10 == 9:
            store.finish(record.run_id, status="Failed", exit_code=1, error="exited with code 1")
        else:
            (run_dir / "outputs").mkdir()
            (run_dir / "outputs" / "model.json").write_text('{"a": 3.0, "b": 1.0}')
            store.add_metrics(record.run_id, [{"name": "learning_rate", "value": 0.05},
                                              {"name": "mse", "value": rng.random()},
                                              {"name": "loss", "value": [rng.random() for _ in range(10)]}])
            store.finish(record.run_id, status="Completed", exit_code=0)
        # finish records the run's files and its stored document, as settle.finalize has it do
    store.close()
    return time.perf_counter() - started


def forget_documents(project: Path) -> None:
    """Make the history one written before amlexec stored finished runs' documents (history/docs.py)."""
    import sqlite3

    with sqlite3.connect(project / ".amlexec" / "history.db") as conn:
        conn.execute("DROP TABLE IF EXISTS run_docs")


def bench_history(runs: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "longhistory"
        subprocess.run([AMLEXEC, "init", str(project)], check=True, capture_output=True, env=bench_env())
        seconds = build_history(project, count)
        print(f"\n  ({count} runs written into history in {seconds:.1f} s)")
        python = sys.executable
        rows = [
            ("python -c pass (bare)", time_command([python, "-c", "pass"], cwd=project, runs=runs)),
            ("amlexec history list", time_command([AMLEXEC, "history", "list"], cwd=project, runs=runs)),
            (f"amlexec history list --last {count} -o json",
             time_command([AMLEXEC, "history", "list", "--last", str(count), "-o", "json"], cwd=project, runs=runs)),
            ("amlexec history list -o json",
             time_command([AMLEXEC, "history", "list", "-o", "json"], cwd=project, runs=runs)),
        ]
        forget_documents(project)
        rows.append(("  same, older history (no stored documents)",
                     time_command([AMLEXEC, "history", "list", "--last", str(count), "-o", "json"], cwd=project,
                                  runs=runs)))
        report(f"history list with {count} runs in history", rows)
        for (name, samples), goal in ((rows[1], HISTORY_GOALS["table"]), (rows[2], HISTORY_GOALS["json"])):
            median = statistics.median(samples)
            verdict = "meets" if median <= goal else "misses"
            print(f"  {name}: {median * 1000:.0f} ms; {verdict} the {goal * 1000:.0f} ms goal")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--history-runs", type=int, default=10_000, help="0: leave the history section out")
    parser.add_argument("--python-location", help="pythonLocation for local.compute (default: init's `python`); "
                        "an explicit path compares amlexec versions that resolve `python` differently")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        subprocess.run([AMLEXEC, "init", str(project)], check=True, capture_output=True, env=bench_env())
        (project / "noop.py").write_text("")
        if args.python_location:
            compute = project / "aml_config" / "local.compute"
            compute.write_text(re.sub(r"(?m)^pythonLocation:.*$", f"pythonLocation: {json.dumps(args.python_location)}",
                                      compute.read_text()))
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
    if args.history_runs:
        bench_history(max(3, args.runs // 3), args.history_runs)


if __name__ == "__main__":
    main()
