"""Submitting to a real Slurm cluster (three containers, tests/integration/slurmfixtures.py): attach and its
checks, a run's result, byte-exact environment values on the compute node, exit codes, the environment
prepared once on the shared directory, a 2-node job with ranks, and bad input that leaves no run behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from slurmfixtures import USER, SlurmCluster
from slurmsupport import TARGET, info, jobs_of_alice, make_project, run_id_of, runs, set_compute, set_env
from sshfixtures import Keys, amlexec

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("ssh_client_home")]

REPORT = """\
import json, os, socket, sys
report = {"host": socket.gethostname(), "rank": os.environ.get("RANK"), "world": os.environ.get("WORLD_SIZE"),
          "local_rank": os.environ.get("LOCAL_RANK"), "master": os.environ.get("MASTER_ADDR"),
          "port": os.environ.get("MASTER_PORT"), "job": os.environ.get("SLURM_JOB_ID"), "python": sys.executable,
          "text": os.environb.get(b"TEXT", b"").hex(), "cwd": os.getcwd()}
print("REPORT", json.dumps(report), flush=True)
os.makedirs("outputs", exist_ok=True)
if report["rank"] in (None, "0"):
    json.dump(report, open("outputs/report.json", "w"))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""
TRIAL = """\
import socket, sys
from azureml.logging import get_azureml_logger
get_azureml_logger().log("square", int(sys.argv[1]) ** 2)
print("TRIAL", sys.argv[1], socket.gethostname())
"""
DISTRIBUTED = ("import os, tinypkg\nfrom azureml.logging import get_azureml_logger\n"
               "get_azureml_logger().log('rank_value', int(os.environ['RANK']))\n" + REPORT)


def reports(text: str) -> list[dict]:
    return [json.loads(line.split(" ", 1)[1]) for line in text.splitlines() if line.startswith("REPORT ")]


@pytest.fixture
def project(tmp_path: Path, slurm_cluster: SlurmCluster, client_keys: Keys) -> Path:
    return make_project(tmp_path / "proj", slurm_cluster, client_keys, {"report.py": REPORT, "trial.py": TRIAL})


def test_attach_refuses_an_unknown_host_key_and_checks_the_login_node(tmp_path: Path, slurm_cluster: SlurmCluster,
                                                                      client_keys: Keys) -> None:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    argv = ["computetarget", "attach", "slurm", "-n", "hpc", "-a", slurm_cluster.address, "-u", USER,
            "--private-key-file", str(client_keys.good)]
    refused = amlexec(*argv, cwd=root)
    assert refused.returncode == ExitCode.AUTH
    assert refused.stderr.startswith(f"amlexec: error: the host key of [127.0.0.1]:{slurm_cluster.port} is not "
                                     "known"), refused.stderr
    assert not list((root / "aml_config").iterdir())
    unwritable = amlexec(*argv, "--accept-host-key", "--shared-directory", "/var/spool/slurmctld/x", cwd=root)
    assert unwritable.returncode == ExitCode.IO, unwritable.stderr
    assert "sharedDirectory /var/spool/slurmctld/x on" in unwritable.stderr and "not writable" in unwritable.stderr
    done = amlexec(*argv, "--accept-host-key", "--node-count", "2", "--sbatch-option=--comment=amlexec test",
                   cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Slurm found; Python 3." in done.stderr and "shared directory /shared/home/alice/.amlexec" in done.stderr
    text = (root / "aml_config" / "hpc.compute").read_text()
    assert "type: slurm" in text and "nodeCount: 2" in text and "sharedDirectory: ~/.amlexec" in text
    assert "- --comment=amlexec test" in text


def test_a_submit_runs_the_script_on_a_compute_node_and_brings_its_result_back(project: Path) -> None:
    done = amlexec("experiment", "submit", "-c", TARGET, "report.py", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = run_id_of(done.stdout)
    (report,) = reports(done.stdout)
    assert report["host"] in ("node1", "node2")
    assert report["rank"] is None, "a one-task job gets no ranks"
    assert report["cwd"] == f"/shared/home/alice/.amlexec/runs/{run_id}/project"
    assert "submitted Slurm job" in done.stderr
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Completed", 0)
    props = record["properties"]
    assert props["slurm_job_id"] == int(report["job"])
    assert props["slurm_partition"] == "debug" and props["slurm_nodelist"] == report["host"]
    run_dir = project / ".amlexec" / "runs" / run_id
    assert json.loads((run_dir / "outputs" / "report.json").read_text()) == report


def test_environment_values_arrive_byte_exact_on_the_compute_node(project: Path) -> None:
    value = "a,b=c 'single' \"double\" $HOME `date` \\back ünïcødé ✓\nsecond line,"
    set_env(project, {"TEXT": value})
    done = amlexec("experiment", "submit", "-c", TARGET, "report.py", cwd=project)
    assert done.returncode == 0, done.stderr
    (report,) = reports(done.stdout)
    assert bytes.fromhex(report["text"]).decode() == value


@pytest.mark.parametrize("code", [3, 1])
def test_the_scripts_exit_code_passes_through_from_slurms_record(project: Path, code: int) -> None:
    done = amlexec("experiment", "submit", "-c", TARGET, "report.py", str(code), cwd=project)
    assert done.returncode == code, done.stderr
    record = info(project, run_id_of(done.stdout))
    assert (record["status"], record["exit_code"]) == ("Failed", code)
    assert record["properties"]["slurm_state"] == "FAILED"


def test_two_nodes_run_one_rank_each_with_the_distributed_variables(tmp_path: Path, slurm_cluster: SlurmCluster,
                                                                    client_keys: Keys) -> None:
    """The environment is prepared once on the shared directory, and both nodes import its package."""
    from wheelmaker import make_wheel

    root = make_project(tmp_path / "proj", slurm_cluster, client_keys, {"dist.py": DISTRIBUTED}, "--node-count", "2")
    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0", module_source="VALUE = 42\n")
    (root / "wheels").mkdir()
    (root / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    (root / "aml_config" / "conda_dependencies.yml").write_text(
        f"name: env\ndependencies:\n  - python=3.11\n  - pip:\n    - ./wheels/{wheel.name}\n")
    first = amlexec("experiment", "prepare", "-c", TARGET, cwd=root, timeout=300)
    assert first.returncode == 0, first.stderr
    again = amlexec("experiment", "prepare", "-c", TARGET, cwd=root)
    assert again.returncode == 0 and "preparing the environment" not in again.stderr, again.stderr
    done = amlexec("experiment", "submit", "-c", TARGET, "dist.py", cwd=root)
    assert done.returncode == 0, done.stderr
    run_id = run_id_of(done.stdout)
    run_dir = root / ".amlexec" / "runs" / run_id
    rank0 = reports(done.stdout)
    assert [r["rank"] for r in rank0] == ["0"], "rank 0's output is the driver log"
    rank1 = reports((run_dir / "logs" / "rank_1.txt").read_text())
    assert [r["rank"] for r in rank1] == ["1"]
    both = rank0 + rank1
    assert {r["host"] for r in both} == {"node1", "node2"}
    assert {(r["world"], r["local_rank"]) for r in both} == {("2", "0")}
    assert {r["master"] for r in both} == {"node1"} and len({r["port"] for r in both}) == 1
    assert {r["python"] for r in both} == {r["python"] for r in rank0}
    assert "/shared/home/alice/.amlexec/envs/" in rank0[0]["python"]
    assert (run_dir / "logs" / "rank_0.txt").read_text() == (run_dir / "driver_log.txt").read_text()
    record = info(root, run_id)
    assert record["properties"]["slurm_nodelist"] == "node[1-2]"
    assert "logs/rank_0.txt, logs/rank_1.txt" in record["attachments"]
    assert (record["rank_value"], record["rank_value@rank1"]) == (0, 1), "metrics of every rank, tagged by rank"
    shown = amlexec("history", "info", "-r", run_id, "-a", "logs/rank_1.txt", cwd=root)
    assert shown.returncode == 0 and reports(shown.stdout) == rank1, shown.stderr


@pytest.mark.parametrize(("settings", "first_line", "hint"), [
    ({"partition": "gpu"}, "amlexec: error: hpc.compute: partition 'gpu' does not exist on",
     "hint: set partition to one of: debug, short"),
    ({"nodeCount": 3}, "amlexec: error: hpc.compute: nodeCount 3 can never run: partition 'debug' has 2 nodes",
     "hint: set nodeCount to at most 2"),
    ({"partition": "short", "nodeCount": 2}, "amlexec: error: hpc.compute: nodeCount 2 can never run: partition "
     "'short' has 1 node", "hint: set nodeCount to at most 1"),
    ({"memory": "64G"}, "amlexec: error: hpc.compute: Slurm would refuse the job: allocation failure: Requested "
     "node configuration is not available", "hint: check partition, nodeCount"),
])
def test_a_job_that_can_never_run_is_refused_before_any_run_is_recorded(project: Path, slurm_cluster: SlurmCluster,
                                                                        settings: dict, first_line: str,
                                                                        hint: str) -> None:
    set_compute(project, **settings)
    done = amlexec("experiment", "submit", "-c", TARGET, "report.py", cwd=project)
    assert done.returncode == ExitCode.CONFIG, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(first_line), done.stderr
    assert lines[1].startswith(hint), done.stderr
    assert runs(project) == []
    assert jobs_of_alice(slurm_cluster) == []


def test_a_shared_directory_the_nodes_cannot_see_fails_the_run_with_that_reason(project: Path,
                                                                               slurm_cluster: SlurmCluster) -> None:
    set_compute(project, sharedDirectory="/tmp/amlexec-local")
    done = amlexec("experiment", "submit", "-c", TARGET, "report.py", cwd=project)
    assert done.returncode == ExitCode.CONFIG, done.stderr
    run_id = run_id_of(done.stdout)
    error = [line for line in done.stderr.splitlines() if line.startswith("amlexec: error: ")]
    assert len(error) == 1 and "the sharedDirectory /tmp/amlexec-local is not shared with the compute nodes" in \
        error[0], done.stderr
    assert done.stderr.splitlines()[-1].startswith("hint: set sharedDirectory in the target's .compute file")
    record = info(project, run_id)
    assert record["status"] == "Failed" and "is not shared with the compute nodes" in record["error"]
    assert slurm_cluster.sh("ls /tmp/amlexec-local/runs").split() == [], "nothing of the run is left there"

