"""Sweeps on the engine targets: docker trials two at a time from one image, and small sweeps on a remote
Docker host and on the Spark cluster, each trial a normal run there."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)
from sparkfixtures import spark_head  # noqa: F401  (a fixture)

TRIAL = """import os, sys, time
from azureml.logging import get_azureml_logger
args = sys.argv[1:]
k = int(args[args.index("--k") + 1])
time.sleep(float(os.environ.get("SWEEP_SLEEP", "0")))
print("TRIAL", k, os.environ["AMLEXEC_PARAM_K"], os.environ["AMLEXEC_PARENT_RUN_ID"], flush=True)
log = get_azureml_logger()
for step in range(3):
    log.log("Accuracy", 1.0 - abs(k - 3) / 10 - (2 - step) / 100)
"""


def records(root: Path) -> list[dict]:
    import sqlite3

    with sqlite3.connect(root / ".amlexec" / "history.db") as conn:
        rows = conn.execute("SELECT run_id, status, start_time_utc, end_time_utc, properties FROM runs "
                            "ORDER BY run_number").fetchall()
    return [{"run_id": r[0], "status": r[1], "start": r[2], "end": r[3], **json.loads(r[4])} for r in rows]


def overlap(trials: list[dict]) -> int:
    events = []
    for t in trials:
        events += [(datetime.fromisoformat(t["start"].replace("Z", "+00:00")), 1),
                   (datetime.fromisoformat(t["end"].replace("Z", "+00:00")), -1)]
    running = most = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    return most


def check_sweep(root: Path, done, values: list[int]) -> list[dict]:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    parent = done.stdout.split()[1]
    runs = records(root)
    trials = [r for r in runs if r.get("parent_run_id") == parent]
    assert sorted(t["sweep_parameters"]["k"] for t in trials) == values
    assert {t["status"] for t in trials} == {"Completed"}
    sweep = next(r for r in runs if r["run_id"] == parent)
    assert sweep["best_trial"]["parameters"] == {"k": 3} and sweep["best_trial"]["value"] == 1.0
    for trial in trials:
        log = (root / ".amlexec" / "runs" / trial["run_id"] / "driver_log.txt").read_text()
        k = trial["sweep_parameters"]["k"]
        assert f"TRIAL {k} {k} {parent}" in log
    return trials


@pytest.mark.docker
def test_a_docker_sweep_runs_two_trials_at_once_from_one_image(docker_project):
    docker_project.write("trial.py", TRIAL)
    docker_project.runconfig("docker", EnvironmentVariables={"SWEEP_SLEEP": "3"})
    done = docker_project.cli("experiment", "sweep", "-c", "docker", "trial.py", "--k", "{k}", "-p", "k=1,2,3,4",
                              "--max-concurrent", "2", "--metric", "Accuracy")
    trials = check_sweep(docker_project.root, done, [1, 2, 3, 4])
    assert overlap(trials) == 2
    assert done.stderr.count("preparing the run environment once") == 1
    assert len(docker_project.images()) == 1  # one environment image for every trial
    assert docker_project.containers() == []


@pytest.mark.docker
@pytest.mark.ssh
@pytest.mark.usefixtures("ssh_client_home")
def test_a_sweep_on_a_remote_docker_host(remote_project):
    remote_project.write("trial.py", TRIAL)
    done = remote_project.cli("experiment", "sweep", "-c", "vm", "trial.py", "--k", "{k}", "-p", "k=2,3",
                              "--max-concurrent", "2", "--metric", "Accuracy", timeout=600)
    check_sweep(remote_project.root, done, [2, 3])


@pytest.mark.spark
@pytest.mark.ssh
@pytest.mark.usefixtures("ssh_client_home")
def test_a_sweep_of_spark_submits_on_the_cluster(tmp_path: Path, spark_head, client_keys) -> None:
    from sshfixtures import amlexec
    from test_spark_cluster import attach

    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "aml_config" / "conda_dependencies.yml").write_text("name: env\ndependencies:\n  - python=3.11\n")
    (root / "aml_config" / "spark_dependencies.yml").write_text('configuration:\n  "spark.app.name": "sweep"\n')
    (root / "trial.py").write_text("from pyspark.sql import SparkSession\n"
                                   "SparkSession.builder.getOrCreate().sparkContext.parallelize([1]).count()\n"
                                   + TRIAL)
    attach(root, spark_head, client_keys)
    done = amlexec("experiment", "sweep", "-c", "spark", "trial.py", "--k", "{k}", "-p", "k=3,4",
                   "--max-concurrent", "2", "--metric", "Accuracy", cwd=root, timeout=900)
    trials = check_sweep(root, done, [3, 4])
    assert all(t.get("spark_application_id") for t in trials)  # each trial was its own spark-submit
