"""Framework: PySpark on the docker target: spark-submit --master local[*] in a container whose image has
Java (from the base image) and Spark (a layer of its own, from a wheel made on this machine), built offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)
from engines import require_engine

pytestmark = [pytest.mark.docker, pytest.mark.spark]

SPARK_BASE = "amlexec/base:bookworm-spark"
LABEL = "label with spaces; $dollar \"dq\" naïve ✓ 日本語\nline two"  # byte for byte (issue 10)
JOB = """\
import json, os, sys
from pyspark.sql import SparkSession
from azureml.logging import get_azureml_logger

sc = SparkSession.builder.getOrCreate().sparkContext
label = lambda: os.environb.get(b"JOB_LABEL", b"").decode("utf-8")  # strict: other bytes fail the job
executors = sc.parallelize(range(2), 2).map(lambda _: (label(), sys.executable)).collect()
total = sc.parallelize(range(1, 101), 4).map(lambda x: x * x).sum()
result = {"total": total, "master": sc.master, "app_name": sc.appName, "label": label(),
          "shuffle": sc.getConf().get("spark.sql.shuffle.partitions"), "executors": executors,
          "python": sys.executable, "args": sys.argv[1:]}
os.makedirs("outputs", exist_ok=True)
json.dump(result, open("outputs/result.json", "w"))
get_azureml_logger().log("total", total)
sc.stop()
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture(scope="session")
def spark_base(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Java-capable base image, made by the project's own bootstrap command when missing."""
    from docker.errors import ImageNotFound

    try:
        import pyspark  # noqa: F401 - its version is the Spark the image gets
    except ImportError:
        require_engine("spark", "pyspark is not installed (pip install -e '.[spark]')")
    try:
        docker_client.images.get(SPARK_BASE)
        return SPARK_BASE
    except ImageNotFound:
        pass
    env = {**os.environ, "AMLEXEC_HOME": str(tmp_path_factory.mktemp("bootstrap-home"))}
    done = subprocess.run([sys.executable, "-m", "amlexec", "image", "bootstrap", "--spark"], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        require_engine("spark", f"`amlexec image bootstrap --spark` failed: {done.stderr[-2000:]}")
    return SPARK_BASE


@pytest.fixture(scope="session")
def spark_images(docker_client: Any) -> Iterator[None]:
    """Spark images this session creates are removed at its end (ones that existed before are kept)."""
    before = {i["Id"] for i in docker_client.api.images(name="amlexec-spark")}
    yield
    for image in docker_client.api.images(name="amlexec-spark"):
        if image["Id"] not in before:
            for ref in image.get("RepoTags") or [image["Id"]]:
                docker_client.api.remove_image(ref, force=True)


def installer_leftovers(client: Any, *, since: float) -> list[str]:
    """Untagged images made since `since` by the Spark image's install stage (which holds the wheel)."""
    found = []
    for image in client.api.images(all=True, filters={"dangling": True}):
        if image["Created"] >= int(since) - 1:
            config = client.api.inspect_image(image["Id"]).get("ContainerConfig") or {}
            if "spark-installer" in " ".join(config.get("Cmd") or []) or "spark-wheels" in " ".join(
                    config.get("Cmd") or []):
                found.append(image["Id"])
    return found


def test_pyspark_runs_in_the_container_and_python_changes_keep_the_spark_layer(
        docker_project: Any, spark_base: str, spark_images: None, tmp_path: Any) -> None:
    from wheelmaker import make_wheel

    docker_project.compute(baseDockerImage=spark_base)
    docker_project.runconfig("docker", Framework="PySpark", EnvironmentVariables={"JOB_LABEL": LABEL})
    docker_project.write("aml_config/spark_dependencies.yml",
                         'configuration:\n  "spark.app.name": "amlexec docker spark"\n'
                         '  "spark.sql.shuffle.partitions": 5\n')
    docker_project.write("job.py", JOB)
    started = time.time()
    first = docker_project.prepare()
    assert first["built"] is True and first["spark_image"].startswith("amlexec-spark:")
    spark_id = docker_project.client.api.inspect_image(first["spark_image"])["Id"]
    assert installer_leftovers(docker_project.client, since=started) == []  # the wheel's stage is gone

    outcome = docker_project.submit("job.py", "3")
    assert outcome.result.exit_code == 3, outcome.stderr[-3000:]
    record = outcome.record
    assert (record.status, record.exit_code) == ("Failed", 3)
    run_dir = docker_project.project.state_dir / "runs" / record.run_id
    result = json.loads((run_dir / "outputs" / "result.json").read_text())
    assert (result["total"], result["master"], result["args"]) == (338350, "local[*]", ["3"])
    assert (result["app_name"], result["shuffle"]) == ("amlexec docker spark", "5")
    assert result["label"] == LABEL and result["python"] == "/opt/amlexec/env/bin/python"
    assert result["executors"] == [[LABEL, "/opt/amlexec/env/bin/python"]] * 2
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(m["name"], m["value"]) for m in metrics] == [("total", 338350)]
    assert b"SparkContext: Running Spark version" in outcome.stderr  # the driver's log, streamed back

    # A Python-only change: the environment is rebuilt on the same Spark image, which is not built again.
    wheel = make_wheel(docker_project.root / "wheels", "tinypkg", "1.0", module_source="VALUE = 1\n")
    docker_project.conda(pip=[f"./wheels/{wheel.name}"])
    second = docker_project.prepare()
    assert second["built"] is True and second["image"] != first["image"]
    assert second["spark_image"] == first["spark_image"]
    assert docker_project.client.api.inspect_image(first["spark_image"])["Id"] == spark_id
    assert not any("Spark layer" in line for line in second["progress"])
    assert second["seconds"] < 60
