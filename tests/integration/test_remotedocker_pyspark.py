"""Framework: PySpark on remotedocker: the container on the host's engine runs spark-submit with
spark_dependencies.yml applied, exactly as on the docker target (issue 12: it used to run `python job.py`
and ignore the Spark settings, because remotedocker re-implemented docker's container plan)."""

from __future__ import annotations

import json

import pytest
from dockerhostfixtures import RemoteProject
from dockerkit import docker_client  # noqa: F401  (fixture)
from test_docker_pyspark import spark_base  # noqa: F401  (fixture: the Java-capable base image, made here)
from test_ssh_remote_run import run_id_of

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.spark, pytest.mark.usefixtures("ssh_client_home")]

JOB = """\
import json, os, sys
from pyspark.sql import SparkSession

sc = SparkSession.builder.getOrCreate().sparkContext
result = {"total": sc.parallelize(range(1, 11), 2).map(lambda x: x * x).sum(), "master": sc.master,
          "app_name": sc.appName, "shuffle": sc.getConf().get("spark.sql.shuffle.partitions"),
          "args": sys.argv[1:]}
os.makedirs("outputs", exist_ok=True)
json.dump(result, open("outputs/result.json", "w"))
sc.stop()
sys.exit(int(sys.argv[1]))
"""


def test_pyspark_on_remotedocker_runs_spark_submit_with_the_spark_dependencies(
        remote_project: RemoteProject, spark_base: str) -> None:
    remote_project.compute(baseDockerImage=spark_base)
    remote_project.runconfig(Framework="PySpark")
    remote_project.write("aml_config/spark_dependencies.yml",
                         'configuration:\n  "spark.app.name": "amlexec remotedocker spark"\n'
                         '  "spark.sql.shuffle.partitions": 3\n')
    remote_project.write("job.py", JOB)
    done = remote_project.cli("experiment", "submit", "-c", "vm", "job.py", "3", timeout=900)
    assert done.returncode == 3, done.stderr[-3000:]
    run_id = run_id_of(done.stdout)
    result = json.loads((remote_project.run_dir(run_id) / "outputs" / "result.json").read_text())
    assert result == {"total": 385, "master": "local[*]", "app_name": "amlexec remotedocker spark",
                      "shuffle": "3", "args": ["3"]}
    assert "SparkContext: Running Spark version" in done.stderr  # the driver's log, streamed back
