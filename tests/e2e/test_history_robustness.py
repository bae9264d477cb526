"""Run history under concurrent submits and when amlexec itself is killed."""

from __future__ import annotations

import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

from e2e_support import AMLEXEC, amlexec, env_for, write
from engines import wait_for
from test_detach_cancel import group_of_run


def test_twenty_concurrent_submits_give_twenty_complete_records(project):
    write(project, "metric.py", "import sys\nfrom amlexec.logging import get_logger\n"
          "get_logger().log('index', int(sys.argv[1]))\nopen('outputs/i.txt', 'w').write(sys.argv[1])\n")
    (project / "outputs").mkdir(exist_ok=True)

    def submit(i: int) -> int:
        return amlexec("experiment", "submit", "-c", "local", "metric.py", str(i), cwd=project, timeout=120).code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(submit, range(20)))
    assert codes == [0] * 20
    runs = amlexec("history", "list", "-o", "json", cwd=project).json()
    assert len(runs) == 20 and len({r["run_id"] for r in runs}) == 20
    assert sorted(r["run_number"] for r in runs) == list(range(1, 21))
    assert {r["status"] for r in runs} == {"Completed"}
    assert sorted(r["index"] for r in runs) == list(range(20))
    assert all(r["attachments"].endswith("outputs/i.txt") for r in runs)


def test_a_killed_amlexec_leaves_a_failed_run_not_a_running_one(project):
    write(project, "long.py", "import os, time\nos.makedirs('outputs', exist_ok=True)\n"
          "open('outputs/pid', 'w').write(str(os.getpid()))\nprint('working', flush=True)\ntime.sleep(300)\n")
    proc = subprocess.Popen([AMLEXEC, "experiment", "submit", "-c", "local", "long.py"], cwd=project, env=env_for(),
                            stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().split()[1]
    pid = group_of_run(project, run_id)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
    proc.wait(10)
    runs = amlexec("history", "list", "-o", "json", cwd=project).json()
    (run,) = runs
    assert run["status"] == "Failed"
    assert "supervising this run died" in run["error"]
    wait_for(lambda: _gone(pid), timeout=20, what="the orphaned script to be stopped")
    assert "outputs/pid" in run["attachments"]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
