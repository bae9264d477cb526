"""A Slurm job outlives the client that submitted it: Ctrl-C detaches and `logs --follow` reattaches, a
killed client's run is collected later, cancel runs scancel and waits, a lost connection makes the run
Unreachable (not Failed); a pending job says why it waits, a time-limit kill is a Failed run with its
reason, and `computetarget show --status` shows the cluster."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import wait_for
from slurmfixtures import SlurmCluster
from slurmsupport import TARGET, info, jobs_of_alice, make_project, run_id_of, runs, set_compute
from sshfixtures import Cli, Keys, amlexec

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("ssh_client_home")]

TICKER = """\
import os, sys, time
count, code = int(sys.argv[1]), int(sys.argv[2])
for i in range(count):
    print(f"line {i}", flush=True)
    time.sleep(0.3)
os.makedirs("outputs", exist_ok=True)
open("outputs/done.txt", "w").write("done\\n")
sys.exit(code)
"""


@pytest.fixture
def project(tmp_path: Path, slurm_cluster: SlurmCluster, client_keys: Keys) -> Iterator[Path]:
    yield make_project(tmp_path / "proj", slurm_cluster, client_keys, {"ticker.py": TICKER})
    slurm_cluster.as_user("scancel -u alice", check=False)  # a failed test leaves no job for the next


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("line ")]


def expected(count: int) -> list[str]:
    return [f"line {i}" for i in range(count)]


def test_ctrl_c_detaches_and_follow_reattaches_to_the_end(project: Path) -> None:
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "15", "7", cwd=project)
    cli.wait_for("line 2")
    cli.interrupt()
    code, out, err = cli.finish(timeout=30)
    run_id = run_id_of(out)
    assert code == ExitCode.CANCELED, err
    assert f"detached: run {run_id} goes on on its target." in err
    assert info(project, run_id)["status"] == "Running"
    follow = amlexec("history", "logs", "-r", run_id, "--follow", cwd=project, timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert lines_of(follow.stdout) == expected(15)
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Failed", 7)
    run_dir = project / ".amlexec" / "runs" / run_id
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert lines_of((run_dir / "driver_log.txt").read_text()) == expected(15)


def fill_node1(slurm_cluster: SlurmCluster, project: Path) -> str:
    """A job that takes every CPU of the `short` partition's one node, running; the project's target set to
    that partition, so its next job waits (Resources). The blocker's job id."""
    blocker = slurm_cluster.as_user("sbatch --parsable -p short -c 2 -o /dev/null --wrap 'sleep 300'").strip()
    wait_for(lambda: "RUNNING" in slurm_cluster.as_user(f"scontrol show job -o {blocker}"), timeout=30,
             what="the job that fills node1")
    set_compute(project, partition="short")
    return blocker

def test_a_detached_submit_returns_at_once_and_follow_prints_the_job(project: Path) -> None:
    done = amlexec("experiment", "submit", "-c", TARGET, "-a", "ticker.py", "5", "0", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = run_id_of(done.stdout)
    follow = amlexec("history", "logs", "-r", run_id, "--follow", cwd=project, timeout=90)
    assert follow.returncode == 0, follow.stderr
    assert lines_of(follow.stdout) == expected(5)
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Completed", 0), record
    assert record["properties"]["slurm_state"] == "COMPLETED"


def test_a_run_whose_client_was_killed_is_completed_and_collected_later(project: Path,
                                                                         slurm_cluster: SlurmCluster) -> None:
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "12", "0", cwd=project)
    cli.wait_for("line 1")
    cli.proc.kill()  # SIGKILL: no Ctrl-C handling, no goodbye to the cluster
    code, out, _err = cli.finish(timeout=30)
    assert code == -9
    run_id = run_id_of(out)
    wait_for(lambda: not jobs_of_alice(slurm_cluster), timeout=60, what="the job to end on its own")
    record = info(project, run_id)  # the first command after the job ended collects it
    assert (record["status"], record["exit_code"]) == ("Completed", 0), record
    run_dir = project / ".amlexec" / "runs" / run_id
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert lines_of((run_dir / "driver_log.txt").read_text()) == expected(12)
    assert isinstance(record["properties"]["slurm_job_id"], int)



def test_a_queued_run_whose_client_was_killed_shows_running_once_the_job_starts(project: Path,
                                                                              slurm_cluster: SlurmCluster) -> None:
    blocker = fill_node1(slurm_cluster, project)
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "100", "0", cwd=project)
    cli.wait_for("is PENDING (Resources)")
    cli.proc.kill()  # nobody is left to see the job start but the next history read
    cli.finish(timeout=30)
    (queued,) = runs(project)
    assert queued["status"] == "Queued", queued
    slurm_cluster.as_user(f"scancel {blocker}")
    wait_for(lambda: runs(project)[0]["status"] == "Running", timeout=60, what="a read to see the job running")
    assert runs(project)[0]["start_time_utc"], "Running, with its start time"
    # Ended outside amlexec, like a container killed by hand: the next read collects it all the same, as the
    # Failed run it is from amlexec's side, with Slurm's own line as the reason.
    slurm_cluster.as_user("scancel -u alice")
    wait_for(lambda: runs(project)[0]["status"] == "Failed", timeout=60, what="a read to collect the job")
    assert "CANCELLED" in runs(project)[0]["error"]
    leftovers = slurm_cluster.as_user(f"ls -A .amlexec/runs | grep -x {queued['run_id']}; true")
    assert leftovers == "", "collecting the run removed its folder on the cluster"

def test_cancel_runs_scancel_and_waits_for_the_job_to_end(project: Path, slurm_cluster: SlurmCluster) -> None:
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "1000", "0", cwd=project)
    cli.wait_for("line 1")
    run_id = run_id_of(b"".join(cli.out).decode())
    (job,) = jobs_of_alice(slurm_cluster)
    done = amlexec("experiment", "cancel", "-r", run_id, "-o", "json", cwd=project, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Canceled"
    assert jobs_of_alice(slurm_cluster) == [], "cancel returns once Slurm says the job has ended"
    assert "JobState=CANCELLED" in slurm_cluster.as_user(f"scontrol show job -o {job}")
    code, _out, err = cli.finish(timeout=60)
    assert code == ExitCode.CANCELED, err
    assert info(project, run_id)["status"] == "Canceled"


def test_a_pending_job_says_why_it_waits(project: Path, slurm_cluster: SlurmCluster) -> None:
    blocker = fill_node1(slurm_cluster, project)
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "3", "0", cwd=project)
    cli.wait_for("is PENDING (Resources)")
    pending = runs(project)[0]
    assert (pending["status"], pending["start_time_utc"]) == ("Queued", None), "queued: not started yet"
    slurm_cluster.as_user(f"scancel {blocker}")
    code, out, err = cli.finish(timeout=60)
    assert code == 0, err
    assert lines_of(out) == expected(3)
    assert "is running on node1" in err
    run_id = run_id_of(out)
    assert run_id == pending["run_id"]
    ended = info(project, run_id)
    assert ended["status"] == "Completed" and ended["start_time_utc"], "Running, with its start time, once out"
    run_dir = project / ".amlexec" / "runs" / run_id
    assert "PENDING (Resources)" in (run_dir / "control_log.txt").read_text()


def test_a_lost_connection_makes_the_run_unreachable_and_it_is_collected_once_back(
        project: Path, slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMLEXEC_SSH_RECONNECT_SECONDS", "2")
    cli = Cli("experiment", "submit", "-c", TARGET, "ticker.py", "20", "0", cwd=project)
    cli.wait_for("line 1")
    slurm_cluster.sh("kill $(cat /run/sshd.pid); pkill -KILL -u alice -x sshd", check=False)
    try:
        code, out, err = cli.finish(timeout=60)
        assert code == ExitCode.UNAVAILABLE, err
        run_id = run_id_of(out)
        assert info(project, run_id)["status"] == "Unreachable"
    finally:
        slurm_cluster.sh("/usr/sbin/sshd -e -E /var/log/sshd.log")
    wait_for(lambda: not jobs_of_alice(slurm_cluster), timeout=60, what="the job to end on its own")
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Completed", 0), record
    assert lines_of((project / ".amlexec" / "runs" / run_id / "driver_log.txt").read_text()) == expected(20)


def test_status_shows_partitions_and_nodes(project: Path) -> None:
    done = amlexec("computetarget", "show", TARGET, "--status", "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)["status"]
    parts = {p["name"]: p for p in status["partitions"]}
    assert set(parts) == {"debug", "short"} and parts["debug"]["default"] is True
    assert parts["debug"]["nodes"] == 2 and parts["short"]["nodes"] == 1
    assert sum(parts["debug"]["node_states"].values()) == 2
    nodes = {n["name"]: n for n in status["nodes"]}
    assert set(nodes) == {"node1", "node2"}
    assert {(n["cpus"], n["gpus"]) for n in nodes.values()} == {(2, 0)}
    assert nodes["node1"]["partitions"] == ["debug", "short"]
    table = amlexec("computetarget", "show", TARGET, "--status", cwd=project)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[:2] == ["", "partitions:"] and lines[2].split()[:3] == ["name", "default", "state"]
    assert "nodes:" in lines and any(line.split()[:2] == ["node2", "idle"] for line in lines), table.stdout
    local = amlexec("computetarget", "attach", "local", "-n", "here", cwd=project)
    assert local.returncode == 0, local.stderr
    refused = amlexec("computetarget", "show", "here", "--status", cwd=project)
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr.splitlines()[1] == "hint: --status works on slurm targets; leave it out to see the settings"


def test_a_time_limit_kill_is_a_failed_run_with_the_reason(project: Path, slurm_cluster: SlurmCluster) -> None:
    """Slurm's limits are whole minutes and it checks them every 30 s: this test takes about 90 s."""
    set_compute(project, timeLimit="1")
    started = time.monotonic()
    done = amlexec("experiment", "submit", "-c", TARGET, "ticker.py", "100000", "0", cwd=project, timeout=240)
    assert done.returncode == ExitCode.CONFIG, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("amlexec: error: ")]
    assert len(errors) == 1 and errors[0].endswith("was killed by Slurm at its time limit (00:01:00)"), done.stderr
    assert done.stderr.splitlines()[-1].startswith("hint: raise timeLimit in the target's .compute file")
    assert time.monotonic() - started >= 60
    record = info(project, run_id_of(done.stdout))
    assert record["status"] == "Failed" and "was killed by Slurm at its time limit" in record["error"]
    assert record["properties"]["slurm_state"] == "TIMEOUT"
    assert "DUE TO TIME LIMIT" in done.stdout
    assert jobs_of_alice(slurm_cluster) == []
