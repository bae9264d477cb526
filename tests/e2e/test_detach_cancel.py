"""Detached runs, following them, cancel, and Ctrl-C on an attached run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from e2e_support import AMLEXEC, amlexec, env_for, write
from engines import wait_for

SLEEPER = """import os, sys, time
os.makedirs("outputs", exist_ok=True)
open("outputs/pid", "w").write(str(os.getpid()))
child = os.fork()
if child == 0:          # a grandchild: cancel must stop the whole process group
    time.sleep(300)
    os._exit(0)
print("started", flush=True)
time.sleep(float(sys.argv[1]))
print("finished", flush=True)
"""


def status(project: Path, run_id: str) -> str:
    return amlexec("history", "info", "-r", run_id, "--query", "status", "-o", "tsv", cwd=project).out.strip()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def group_of_run(project: Path, run_id: str) -> int:
    pid_file = project / ".amlexec" / "work" / run_id / "outputs" / "pid"
    return int(wait_for(lambda: pid_file.is_file() and pid_file.read_text(), what="the script's pid"))


def test_detached_run_returns_at_once_and_can_be_followed(project):
    write(project, "sleeper.py", SLEEPER)
    started = time.monotonic()
    result = amlexec("experiment", "submit", "-c", "local", "-a", "sleeper.py", "2", cwd=project)
    assert result.code == 0, result.err
    assert time.monotonic() - started < 5
    run_id = result.out.splitlines()[0].removeprefix("RunId: ")
    assert "amlexec history logs -r" in result.out
    followed = amlexec("history", "logs", "-r", run_id, "--follow", cwd=project, timeout=60)
    assert followed.out == "started\nfinished\n"
    assert status(project, run_id) == "Completed"
    assert amlexec("history", "info", "-r", run_id, "-a", "outputs/pid", cwd=project).code == 0


def test_cancel_stops_a_detached_run_and_its_children(project):
    write(project, "sleeper.py", SLEEPER)
    run_id = amlexec("experiment", "submit", "-c", "local", "-a", "sleeper.py", "300", cwd=project).out.split()[1]
    pid = group_of_run(project, run_id)
    canceled = amlexec("experiment", "cancel", "-r", run_id, "-o", "json", cwd=project, timeout=60)
    assert canceled.code == 0, canceled.err
    assert canceled.json()["status"] == "Canceled"
    wait_for(lambda: not pid_alive(pid), what="the script to die")
    assert not _group_alive(pid)
    assert amlexec("history", "info", "-r", run_id, "-a", "outputs/pid", cwd=project).out == str(pid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(_pgid_of(p) == pgid and _state(p) != "Z" for p in os.listdir("/proc") if p.isdigit())


def _pgid_of(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_ctrl_c_cancels_the_attached_run(project):
    write(project, "sleeper.py", SLEEPER)
    proc = subprocess.Popen([AMLEXEC, "experiment", "submit", "-c", "local", "sleeper.py", "300"], cwd=project,
                            env=env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    run_id = proc.stdout.readline().split()[1]
    assert proc.stdout.readline() == "started\n"
    pid = group_of_run(project, run_id)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Status: Canceled" in out
    assert status(project, run_id) == "Canceled"
    assert not _group_alive(pid)
    assert amlexec("history", "info", "-r", run_id, "-a", "outputs/pid", cwd=project).out == str(pid)


def test_sigterm_to_amlexec_cancels_too(project):
    write(project, "sleeper.py", SLEEPER)
    proc = subprocess.Popen([AMLEXEC, "experiment", "submit", "-c", "local", "sleeper.py", "300"], cwd=project,
                            env=env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().split()[1]
    pid = group_of_run(project, run_id)
    proc.terminate()
    proc.communicate(timeout=60)
    assert proc.returncode == 130 and status(project, run_id) == "Canceled"
    assert not _group_alive(pid)


def test_cancel_and_follow_an_attached_run_from_another_terminal(project):
    write(project, "sleeper.py", SLEEPER)
    proc = subprocess.Popen([AMLEXEC, "experiment", "submit", "-c", "local", "sleeper.py", "300"], cwd=project,
                            env=env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().split()[1]
    pid = group_of_run(project, run_id)
    follower = subprocess.Popen([AMLEXEC, "history", "logs", "-r", run_id, "--follow"], cwd=project,
                                env=env_for(), stdout=subprocess.PIPE, text=True)
    assert follower.stdout.readline() == "started\n"
    assert amlexec("experiment", "cancel", "-r", run_id, cwd=project, timeout=60).code == 0
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Status: Canceled" in out
    follower.wait(30)
    assert follower.returncode == 0
    assert not _group_alive(pid)
