"""Framework: PySpark on the local target: a real spark-submit with spark_dependencies.yml applied."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engines import require_engine

pytestmark = pytest.mark.spark

BIN = Path(sys.executable).parent
LABEL = "label with spaces; $dollar \"dq\" naïve ✓ 日本語\nline two"  # byte for byte (issue 10)

JOB = """import json, os, sys
from pyspark.sql import SparkSession
from amlexec.logging import get_logger

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
total = sc.parallelize(range(1, 101), 4).map(lambda x: x * x).sum()
executor_env = sc.parallelize([0], 1).map(lambda _: os.environb[b"SPARK_JOB_LABEL"].decode()).collect()[0]
result = {"total": total, "app_name": sc.appName, "shuffle": sc.getConf().get("spark.sql.shuffle.partitions"),
          "driver_env": os.environ.get("SPARK_JOB_LABEL"), "executor_env": executor_env, "args": sys.argv[1:]}
os.makedirs("outputs", exist_ok=True)
json.dump(result, open("outputs/result.json", "w"))
get_logger().log("total", total)
spark.stop()
sys.exit(int(sys.argv[1]))
"""


def test_pyspark_job_on_the_local_target(tmp_path):
    if shutil.which("spark-submit", path=str(BIN)) is None or shutil.which("java") is None:
        require_engine("spark", "spark-submit (pip install pyspark) and java are needed")
    project = tmp_path / "sparkproj"
    subprocess.run([str(BIN / "amlexec"), "init", str(project)], check=True, capture_output=True)
    (project / "job.py").write_text(JOB)
    (project / "aml_config" / "spark_dependencies.yml").write_text(
        'configuration:\n  "spark.app.name": "amlexec spark test"\n  "spark.sql.shuffle.partitions": 7\n'
        "repositories: []\npackages: []\n")
    (project / "aml_config" / "spark.runconfig").write_text(
        'ArgumentVector: ["$file"]\nTarget: local\nFramework: PySpark\n'
        f'EnvironmentVariables:\n  SPARK_JOB_LABEL: {json.dumps(LABEL)}\n')
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([str(BIN / "amlexec"), "experiment", "submit", "-c", "spark", "job.py", "3"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr[-3000:]
    info = json.loads(subprocess.run([str(BIN / "amlexec"), "history", "last", "-o", "json"], cwd=project,
                                     env=env, capture_output=True, text=True, check=True).stdout)
    assert info["status"] == "Failed" and info["exit_code"] == 3 and info["total"] == 338350
    result = json.loads((project / ".amlexec" / "runs" / info["run_id"] / "outputs" / "result.json").read_text())
    assert result == {"total": 338350, "app_name": "amlexec spark test", "shuffle": "7",
                      "driver_env": LABEL, "executor_env": LABEL,
                      "args": ["3"]}
