"""Signals and kills, for real: a second Ctrl-C during the cancel grace period, SIGHUP, kill -9 of amlexec
while it copies a large snapshot, and a run folder deleted under a detached run that is then canceled."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from corpus_support import assert_settled, first_line, record
from e2e_support import amlexec, finish, start, write
from engines import wait_for

STUBBORN = """import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.makedirs("outputs", exist_ok=True)
open("outputs/pid", "w").write(str(os.getpid()))
print("ready", flush=True)
time.sleep(300)
"""


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def started(project: Path, script: str) -> tuple[object, str, int]:
    write(project, "job.py", script)
    proc = start("experiment", "submit", "-c", "local", "job.py", cwd=project)
    run_id = proc.stdout.readline().split()[1]
    assert proc.stdout.readline() == "ready\n"
    pid = int((project / ".amlexec" / "work" / run_id / "outputs" / "pid").read_text())
    return proc, run_id, pid


def test_a_second_ctrl_c_during_the_grace_period_kills_the_group_and_records_canceled(project):
    proc, run_id, pid = started(project, STUBBORN)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    wait_for(lambda: (project / ".amlexec" / "runs" / run_id / "control_log.txt").exists(), what="the run")
    time.sleep(0.5)  # inside the 10 s grace period: the script ignores SIGTERM
    proc.send_signal(signal.SIGINT)
    result = finish(proc, timeout=30)
    assert time.monotonic() - began < 8, "the second Ctrl-C must not wait for the grace period"
    assert (result.code, first_line(result.err)) == (130, "canceling the run... (Ctrl-C again stops it at once)")
    assert "amlexec: stopping the run at once" in result.err
    assert gone(pid)
    run = record(project, run_id)
    assert (run.status, run.exit_code, run.error) == ("Canceled", 130, "canceled by the user")
    assert_settled(project)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=["SIGHUP", "SIGTERM", "SIGINT"])
def test_hangup_terminate_and_interrupt_all_cancel(project, signum):
    proc, run_id, pid = started(project, STUBBORN.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)", ""))
    proc.send_signal(signum)
    result = finish(proc, timeout=30)
    assert (result.code, first_line(result.err)) == (130, "canceling the run... (Ctrl-C again stops it at once)")
    assert gone(pid)
    assert record(project, run_id).status == "Canceled"
    assert_settled(project)


def test_kill_9_while_copying_a_large_snapshot_leaves_no_partial_copy(project):
    data = project / "data"
    data.mkdir()
    for i in range(40):
        (data / f"part{i:02d}.bin").write_bytes(os.urandom(1 << 20) * 5)
    write(project, "hi.py", "print('hi')\n")
    proc = start("experiment", "submit", "-c", "local", "hi.py", cwd=project)
    work = project / ".amlexec" / "work"
    partial = wait_for(lambda: [p for p in work.glob(".*.partial") if (p / "data").exists()] if work.exists()
                       else None, timeout=30, interval=0.001, what="the snapshot copy to begin")
    proc.kill()
    proc.wait(10)
    assert partial[0].exists(), "amlexec finished copying before it was killed; the test proves nothing"
    listed = amlexec("history", "list", cwd=project)  # the next command reconciles the run
    assert listed.code == 0
    run_id = partial[0].name.removeprefix(".").removesuffix(".partial")
    run = record(project, run_id)
    assert (run.status, run.error) == ("Failed", "amlexec stopped before the run started")
    assert_settled(project)


def test_a_detached_run_whose_history_folder_is_deleted_can_still_be_canceled(project):
    write(project, "job.py", STUBBORN.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)", ""))
    submitted = amlexec("experiment", "submit", "-c", "local", "-a", "job.py", cwd=project)
    run_id = submitted.out.split()[1]
    pid_file = project / ".amlexec" / "work" / run_id / "outputs" / "pid"
    pid = int(wait_for(lambda: pid_file.is_file() and pid_file.read_text(), what="the script's pid"))
    control = project / ".amlexec" / "runs" / run_id / "control_log.txt"
    wait_for(lambda: "started: " in control.read_text(), what="the worker to record the start")
    shutil.rmtree(project / ".amlexec" / "runs")
    assert amlexec("history", "list", cwd=project).code == 0
    assert amlexec("history", "info", "-r", run_id, cwd=project).code == 0
    canceled = amlexec("experiment", "cancel", "-r", run_id, cwd=project, timeout=60)
    assert canceled.code == 0, canceled.err
    assert gone(pid)
    run = record(project, run_id)
    assert run.status == "Canceled" and "was deleted while" in (run.error or "")
    assert_settled(project)
