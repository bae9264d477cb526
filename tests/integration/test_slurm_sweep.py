"""A sweep on a Slurm target is one job array (issue 15 §5): one sbatch for all trials, Slurm running at most
--max-concurrent tasks at once, each task a child run of its own (log, metrics, outputs, Queued then Running),
early termination canceling one task, and a canceled sweep leaving nothing queued."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import wait_for
from slurmfixtures import SlurmCluster
from slurmsupport import TARGET, info, jobs_of_alice, make_project, set_env
from sshfixtures import Cli, Keys, amlexec

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("ssh_client_home")]

TIMED = """\
import os, socket, sys, time
from azureml.logging import get_azureml_logger
start = time.time()
time.sleep(float(os.environ.get("TRIAL_SECONDS", "2")))
get_azureml_logger().log("square", int(sys.argv[1]) ** 2)
os.makedirs("outputs", exist_ok=True)
open("outputs/x.txt", "w").write(sys.argv[1])
print("TRIAL", sys.argv[1], socket.gethostname(), os.environ["SLURM_ARRAY_TASK_ID"], start, time.time())
"""
CURVE = """\
import sys, time
from azureml.logging import get_azureml_logger
k = int(sys.argv[1])
log = get_azureml_logger()
for step in range(1, 41):
    log.log("Accuracy", k * step / 100)
    time.sleep(0.5)
"""


@pytest.fixture
def project(tmp_path: Path, slurm_cluster: SlurmCluster, client_keys: Keys) -> Iterator[Path]:
    yield make_project(tmp_path / "proj", slurm_cluster, client_keys, {"trial.py": TIMED, "curve.py": CURVE})
    slurm_cluster.as_user("scancel -u alice", check=False)  # a failed test leaves no job for the next


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_a_sweep_is_one_job_array_running_at_most_max_concurrent_tasks(project: Path,
                                                                       slurm_cluster: SlurmCluster) -> None:
    done = amlexec("experiment", "sweep", "-c", TARGET, "trial.py", "{x}", "--param", "x=1,2,3,4", "--max-concurrent",
                   "2", "--metric", "square", "--goal", "maximize", "-o", "json", cwd=project, timeout=240)
    assert done.returncode == 0, done.stderr
    parent = json.loads(done.stdout)["run_id"]
    array = re.search(r"submitted Slurm job array (\d+): 4 tasks, at most 2 at once", done.stderr)
    assert array is not None, done.stderr
    trials = info(project, parent)["trials"]
    assert len(trials) == 4 and {t["status"] for t in trials} == {"Completed"}, trials
    assert trials[0]["objective"] == 16, "the best trial first"
    spans = []
    for trial in trials:
        record = info(project, trial["run_id"])
        x = record["properties"]["sweep_parameters"]["x"]
        run_dir = project / ".amlexec" / "runs" / trial["run_id"]
        log = (run_dir / "driver_log.txt").read_text().splitlines()
        line = next(text for text in log if text.startswith("TRIAL"))
        _, arg, _host, task, start, end = line.split()
        assert record["properties"]["slurm_job_id"] == f"{array.group(1)}_{task}", "one array, a task per trial"
        assert (arg, record["square"], (run_dir / "outputs" / "x.txt").read_text()) == (str(x), x * x, str(x))
        spans.append((float(start), float(end)))
    assert most_at_once(spans) == 2, f"Slurm ran the tasks at most 2 at once, and really 2: {spans}"
    waited = [t for t in trials if "PENDING" in (project / ".amlexec" / "runs" / t["run_id"] / "control_log.txt")
              .read_text()]
    assert waited, "the tasks past the limit waited in the queue, and their runs said so"
    assert jobs_of_alice(slurm_cluster) == []
    # Only this sweep's names: another test's run may be in the shared directory, and is its own test's business.
    left = set(slurm_cluster.as_user("ls -A .amlexec/arrays .amlexec/runs 2>/dev/null; true").split())
    # arrays/<first trial's id> holds the tasks' links, so the same names cover the array's folder too.
    assert left & {parent, *(t["run_id"] for t in trials)} == set(), "each task removed its folder and link"


def test_early_termination_cancels_one_task_of_the_array(project: Path) -> None:
    # The three tasks start whenever Slurm starts them: at step 1 a running average is the value itself, so
    # k=8 would lose to k=9 alone if k=1 had not logged yet. From step 2 on it never can (0.08s against
    # 0.045(s+1)), while k=1 always loses: the delay makes the outcome independent of start order.
    (project / "stop.yml").write_text("early_termination: {policy: median, delay: 2, interval: 1}\n")
    done = amlexec("experiment", "sweep", "-c", TARGET, "curve.py", "{k}", "--param", "k=9,8,1", "--max-concurrent",
                   "3", "--metric", "Accuracy", "--goal", "maximize", "--sweep-file", "stop.yml", "-o", "json",
                   cwd=project, timeout=300)
    assert done.returncode == 0, done.stderr
    trials = {t["parameters"]["k"]: t for t in info(project, json.loads(done.stdout)["run_id"])["trials"]}
    assert (trials[1]["status"], trials[1]["error"]) == ("Canceled", "early-terminated"), trials
    assert trials[9]["status"] == trials[8]["status"] == "Completed", (trials, done.stderr)
    stopped = info(project, trials[1]["run_id"])
    assert stopped["properties"]["slurm_state"] == "CANCELLED"
    assert 0 < len(stopped["Accuracy"]) < 40, "stopped while it ran, its live metrics kept"
    assert info(project, trials[9]["run_id"])["properties"]["slurm_state"] == "COMPLETED"


def test_canceling_the_sweep_cancels_running_and_queued_tasks(project: Path, slurm_cluster: SlurmCluster) -> None:
    set_env(project, {"TRIAL_SECONDS": "120"})
    cli = Cli("experiment", "sweep", "-c", TARGET, "trial.py", "{x}", "--param", "x=1,2,3", "--max-concurrent", "1",
              cwd=project)
    cli.wait_for("RunId: ", timeout=60)
    parent = cli.text().split("RunId: ")[1].split()[0]

    def statuses() -> list[str]:
        return sorted(t["status"] for t in info(project, parent).get("trials", []))

    wait_for(lambda: statuses() == ["Queued", "Queued", "Running"], timeout=120,
             what="one task running and two queued behind the limit")
    cancel = amlexec("experiment", "cancel", "-r", parent, cwd=project, timeout=180)
    assert cancel.returncode == 0, cancel.stderr
    cli.finish(timeout=120)
    deadline = time.monotonic() + 60
    while info(project, parent)["status"] not in ("Canceled", "Failed") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert info(project, parent)["status"] == "Canceled"
    assert statuses() == ["Canceled", "Canceled", "Canceled"]
    assert jobs_of_alice(slurm_cluster) == [], "nothing of the array is left queued or running"
