"""Controlling sweeps: detach and follow, cancel, Ctrl-C, a killed supervisor, and runs nested in runs."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from e2e_support import BIN, amlexec, finish, start, write
from engines import wait_for
from sweep_support import TRIAL, children, runs

SLOW = {"SWEEP_SLEEP": "30"}


def parent_of(project: Path) -> dict:
    return next(r for r in runs(project) if r["properties"].get("sweep"))


def none_running(project: Path) -> bool:
    return all(r["status"] not in ("Preparing", "Starting", "Running") for r in runs(project))


def test_a_detached_sweep_returns_at_once_and_is_followed_to_its_end(project: Path):
    write(project, "trial.py", TRIAL)
    started = time.monotonic()
    result = amlexec("experiment", "sweep", "-a", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1,2,3",
                     "--metric", "Accuracy", cwd=project, env={"SWEEP_SLEEP": "0.5"})
    assert result.code == 0, result.err
    assert time.monotonic() - started < 10
    parent = result.out.split()[1]
    followed = amlexec("history", "logs", "-r", parent, "--follow", cwd=project, timeout=120)
    assert followed.code == 0, followed.err
    assert "sweep Completed: 3 trials: 3 Completed" in followed.out
    assert [t["status"] for t in children(project, parent)] == ["Completed"] * 3


def test_cancel_of_the_parent_cancels_every_running_trial(project: Path):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-a", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1,2,3,4",
                     "--max-concurrent", "2", cwd=project, env=SLOW)
    parent = result.out.split()[1]
    wait_for(lambda: len([t for t in children(project, parent) if t["status"] == "Running"]) == 2, timeout=60,
             what="two trials running")
    canceled = amlexec("experiment", "cancel", "-r", parent, cwd=project, timeout=90)
    assert canceled.code == 0, canceled.err
    assert parent_of(project)["status"] == "Canceled"
    kids = children(project, parent)
    assert len(kids) == 2 and {t["status"] for t in kids} == {"Canceled"}  # the other two never started
    assert parent_of(project)["properties"]["trials"] == {"total": 4, "Canceled": 2, "NotStarted": 2}


# An interpreter that is slow to say its version: every trial spends a few seconds Preparing, the state in
# which its supervisor (the sweep's process) is all there is to stop.
SLOW_PYTHON = f"""#!/bin/sh
case "$1" in -I) sleep "${{SLOW_VERSION:-0}}";; esac
exec {BIN / "python"} "$@"
"""


def test_cancel_of_one_trial_stops_only_that_trial_even_while_it_prepares(project: Path, tmp_path: Path):
    write(project, "trial.py", TRIAL)
    python = write(tmp_path, "bin/slowpython", SLOW_PYTHON)
    python.chmod(0o755)
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text().replace('pythonLocation: "python"', f'pythonLocation: "{python}"'))
    result = amlexec("experiment", "sweep", "-a", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1,2,3",
                     "--max-concurrent", "3", cwd=project, env={"SLOW_VERSION": "4", "SWEEP_SLEEP": "10"})
    assert result.code == 0, result.err
    parent = result.out.split()[1]
    wait_for(lambda: [t["status"] for t in children(project, parent)] == ["Preparing"] * 3, timeout=60,
             what="three trials preparing")
    first, second, third = (t["run_id"] for t in children(project, parent))
    canceled = amlexec("experiment", "cancel", "-r", first, "-o", "json", cwd=project, timeout=60)
    assert canceled.code == 0, canceled.err
    assert canceled.json()["status"] == "Canceled"
    wait_for(lambda: {t["run_id"]: t["status"] for t in children(project, parent)}[second] == "Running",
             timeout=60, what="the other trials running")
    canceled = amlexec("experiment", "cancel", "-r", second, "-o", "json", cwd=project, timeout=60)
    assert canceled.json()["status"] == "Canceled", canceled.err
    wait_for(lambda: parent_of(project)["status"] == "Completed", timeout=90, what="the sweep to end")
    statuses = {t["run_id"]: t["status"] for t in children(project, parent)}
    assert statuses == {first: "Canceled", second: "Canceled", third: "Completed"}, "only the two asked for"
    assert parent_of(project)["properties"]["trials"] == {"total": 3, "Canceled": 2, "Completed": 1}


def test_ctrl_c_cancels_the_sweep_and_leaves_nothing_running(project: Path):
    write(project, "trial.py", TRIAL)
    proc = start("experiment", "sweep", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1,2,3",
                 "--max-concurrent", "2", cwd=project, env=SLOW)
    wait_for(lambda: len([r for r in runs(project) if r["status"] == "Running" and r["parent"]]) == 2,
             timeout=60, what="two trials running")
    proc.send_signal(signal.SIGINT)
    done = finish(proc, timeout=90)
    assert done.code == 130, done.err
    assert none_running(project)
    assert parent_of(project)["status"] == "Canceled"


def test_a_killed_supervisor_is_reconciled_on_the_next_read(project: Path):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-a", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1,2",
                     cwd=project, env={"SWEEP_SLEEP": "3"})
    parent = result.out.split()[1]
    wait_for(lambda: any(t["status"] == "Running" for t in children(project, parent)), timeout=60,
             what="a trial running")
    import sqlite3

    with sqlite3.connect(project / ".amlexec" / "history.db") as conn:
        (supervisor,) = conn.execute("SELECT supervisor FROM runs WHERE run_id = ?", (parent,)).fetchone()
    import json

    os.kill(json.loads(supervisor)["pid"], signal.SIGKILL)
    time.sleep(0.5)
    listed = amlexec("history", "list", "-o", "json", cwd=project).json()
    (row,) = [r for r in listed if r["run_id"] == parent]
    assert row["status"] == "Failed" and f"--resume {parent}" in row["error"]
    # The trial's supervisor (a thread of the killed process) is gone too: it is settled like any such run.
    (trial,) = children(project, parent)  # the second trial was never started
    assert (trial["status"], trial["error"]) == (
        "Failed", "the amlexec process supervising this run died; the script was stopped")


DRIVER = """import os, subprocess, sys
for k in (1, 2):
    subprocess.run(["amlexec", "experiment", "submit", "-c", "local", "trial.py", "--k", str(k)], check=True)
"""


def test_runs_submitted_from_inside_a_run_are_its_children(project: Path):
    write(project, "trial.py", TRIAL)
    write(project, "driver.py", DRIVER)
    result = amlexec("experiment", "submit", "-c", "local", "driver.py", cwd=project, timeout=120,
                     env={"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert result.code == 0, result.err
    outer, *inner = runs(project)
    assert [r["parent"] for r in inner] == [outer["run_id"]] * 2 and outer["parent"] is None
    top = amlexec("history", "list", "-o", "json", "--query", "[].run_id", cwd=project).json()
    assert top == [outer["run_id"]]
    kids = amlexec("history", "list", "--parent", outer["run_id"], "-o", "json", cwd=project).json()
    assert len(kids) == 2
