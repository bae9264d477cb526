"""The cluster target on a real Spark standalone cluster behind a real sshd (a head node container).

Real spark-submits cost about 11 s each on two cores, so the checks are grouped: one job proves the
computed result, the configuration, the package, env vars on both sides, the shipped environment, metrics,
the exit code and the application's FINISHED state; a second one is detached with Ctrl-C and canceled.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml
from sparkfixtures import PACKAGE, PACKAGE_RESOURCE, SparkHead, spark_head  # noqa: F401 - a fixture
from sshfixtures import USER, Cli, Keys, amlexec, trust

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.spark, pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]

LABEL = "label with spaces; $dollar 'quoted'"
# Issue 10: the worker JVMs run in the POSIX locale; values must still arrive byte for byte on the executors.
TEXT = "naïve café ✓ 日本語 🚀 \"dq\" `id` $HOME\nline two\r\n\ttab  "
JOB = """\
import getpass, json, os, sys
from pyspark.sql import SparkSession
from azureml.logging import get_azureml_logger
import tinypkg

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext

def on_executor(_):
    import tinypkg  # only in the environment amlexec prepared and shipped
    return {"label": os.environ.get("JOB_LABEL"), "python": sys.executable, "tinypkg": tinypkg.VALUE,
            "user": getpass.getuser(), "text": os.environb.get(b"JOB_TEXT", b"").hex(),
            "locale": os.environ.get("LANG", "") + os.environ.get("LC_ALL", "")}

executors = sc.parallelize(range(2), 2).map(on_executor).collect()
total = sc.parallelize(range(1, 101), 4).map(lambda x: x * x).sum()
resource = sc._jvm.java.lang.Thread.currentThread().getContextClassLoader().getResource("@RESOURCE@")
result = {"total": total, "app_id": sc.applicationId, "app_name": sc.appName,
          "shuffle": sc.getConf().get("spark.sql.shuffle.partitions"), "label": os.environ.get("JOB_LABEL"),
          "python": sys.executable, "tinypkg": tinypkg.VALUE, "user": getpass.getuser(), "executors": executors,
          "text": os.environb.get(b"JOB_TEXT", b"").hex(),
          "package_resource": resource is not None, "args": sys.argv[1:]}
print("RESULT", json.dumps(result), flush=True)
os.makedirs("outputs", exist_ok=True)
json.dump(result, open("outputs/result.json", "w"))
get_azureml_logger().log("total", total)
spark.stop()
sys.exit(int(sys.argv[1]))
""".replace("@RESOURCE@", PACKAGE_RESOURCE)
LONG = """\
import time
from pyspark.sql import SparkSession
sc = SparkSession.builder.getOrCreate().sparkContext
print("STARTED", sc.applicationId, flush=True)
sc.parallelize(range(2), 2).map(lambda x: time.sleep(600)).collect()
"""
PLAIN = "import sys, tinypkg\nprint('PLAIN', sys.executable, tinypkg.VALUE, 'pyspark' in sys.modules)\n"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel file for the module, so every test asks for the same environment (built once)."""
    from wheelmaker import make_wheel

    return make_wheel(tmp_path_factory.mktemp("wheels"), "tinypkg", "1.0", module_source="VALUE = 42\n")


@pytest.fixture
def project(tmp_path: Path, wheel: Path) -> Path:
    root = tmp_path / "proj"
    (root / "wheels").mkdir(parents=True)
    (root / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    (root / "aml_config").mkdir()
    (root / "job.py").write_text(JOB)
    (root / "long.py").write_text(LONG)
    (root / "plain.py").write_text(PLAIN)
    (root / "aml_config" / "conda_dependencies.yml").write_text(
        f"name: env\ndependencies:\n  - python=3.11\n  - pip:\n    - ./wheels/{wheel.name}\n")
    group, artifact, version = PACKAGE
    (root / "aml_config" / "spark_dependencies.yml").write_text(
        'configuration:\n  "spark.app.name": "amlexec cluster test"\n  "spark.sql.shuffle.partitions": 7\n'
        'repositories:\n  - "file:///srv/m2"\n'
        f"packages:\n  - group: {group}\n    artifact: {artifact}\n    version: '{version}'\n")
    return root


def attach(project: Path, head: SparkHead, keys: Keys, *, check: bool = False) -> str:
    trust(head.host)
    done = amlexec("computetarget", "attach", "cluster", "-n", "spark", "-a", head.host.address, "-u", USER,
                   "--private-key-file", str(keys.good), *([] if check else ["--no-check"]), cwd=project)
    assert done.returncode == 0, done.stderr
    path = project / "aml_config" / "spark.runconfig"
    runconfig = yaml.safe_load(path.read_text())
    runconfig["EnvironmentVariables"] = {"JOB_LABEL": LABEL, "JOB_TEXT": TEXT}
    path.write_text(yaml.safe_dump(runconfig))
    return done.stderr


def run_id_of(text: str) -> str:
    return re.search(r"^RunId: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]


def info(project: Path, run_id: str) -> dict:
    done = amlexec("history", "info", "-r", run_id, "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def prepare(project: Path) -> dict:
    done = amlexec("experiment", "prepare", "-c", "spark", "-o", "json", cwd=project, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_pyspark_job_runs_on_the_cluster_with_everything_applied(project: Path, spark_head: SparkHead,
                                                                   client_keys: Keys) -> None:
    notes = attach(project, spark_head, client_keys, check=True)
    assert "Spark 4." in notes and "(spark-submit)" in notes  # the attach check ran spark-submit there
    first = prepare(project)
    started = time.monotonic()
    second = prepare(project)
    assert first["environment"] == second["environment"] and second["built"] is False
    assert time.monotonic() - started < 5  # connect + one file read (the CLI's start-up included)
    assert first["packages"] == ["tinypkg-1.0-py3-none-any.whl"]

    done = amlexec("experiment", "submit", "-c", "spark", "job.py", "3", cwd=project, timeout=300)
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]  # the driver's exit code
    run_id = run_id_of(done.stdout)
    assert "Connected to Spark cluster with app ID" in done.stdout  # the driver's log, streamed back
    result = json.loads((project / ".amlexec" / "runs" / run_id / "outputs" / "result.json").read_text())
    assert result["total"] == 338350 and result["args"] == ["3"]
    assert (result["app_name"], result["shuffle"]) == ("amlexec cluster test", "7")  # spark_dependencies.yml
    assert result["package_resource"] is True  # --packages resolved from the --repositories entry
    assert (result["label"], result["user"], result["tinypkg"]) == (LABEL, USER, 42)
    assert result["python"] == f"{first['environment']}/venv/bin/python"
    assert bytes.fromhex(result["text"]) == TEXT.encode()
    for executor in result["executors"]:  # the worker's own user, with the environment shipped to it
        assert (executor["label"], executor["user"], executor["tinypkg"]) == (LABEL, "spark", 42)
        assert bytes.fromhex(executor["text"]) == TEXT.encode(), "byte for byte, in a POSIX-locale worker"
        assert executor["locale"] in ("", "C", "POSIX"), "the test must run in the locale that broke it"
        assert re.fullmatch(r"/var/lib/spark/work/app-[\d-]+/\d+/amlexec_env/bin/python", executor["python"])

    record = info(project, run_id)
    assert (record["status"], record["exit_code"], record["total"]) == ("Failed", 3, 338350)
    app_id = result["app_id"]
    assert record["properties"]["spark_application_id"] == app_id
    assert record["properties"]["spark_ui"] == f"http://127.0.0.1:8080/app/?appId={app_id}"
    assert f"Spark application: {app_id}" in done.stdout
    app = spark_head.wait_app_state(app_id, {"FINISHED"}, timeout=30)
    assert app["name"] == "amlexec cluster test" and app["user"] == USER
    assert spark_head.host.sh(f"ls /home/{USER}/.amlexec/runs").split() == []  # the run folder is gone


def test_framework_python_runs_the_environments_python_without_spark(project: Path, spark_head: SparkHead,
                                                                      client_keys: Keys) -> None:
    attach(project, spark_head, client_keys)
    path = project / "aml_config" / "spark.runconfig"
    path.write_text(path.read_text().replace("Framework: PySpark", "Framework: Python"))
    done = amlexec("experiment", "prepare", "-c", "spark", "--force", "-o", "json", cwd=project, timeout=300)
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads(done.stdout)
    assert rebuilt["built"] is True  # replaced in place: no scratch or old folder is left beside it
    assert spark_head.host.sh(f"ls -A /home/{USER}/.amlexec/envs", user=USER).split() == [rebuilt["env_hash"]]
    done = amlexec("experiment", "submit", "-c", "spark", "plain.py", cwd=project, timeout=300)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("PLAIN "))
    python, value, imported = line.split()[1:]
    assert re.fullmatch(rf"/home/{USER}/\.amlexec/envs/\w+/venv/bin/python", python)
    assert (value, imported) == ("42", "False")
    properties = info(project, run_id_of(done.stdout))["properties"]
    assert "spark_application_id" not in properties
    assert properties["python"] == python and properties["python_version"].startswith("3.")
    assert properties["environment"] == f"/home/{USER}/.amlexec/envs/{rebuilt['env_hash']}"


def test_ctrl_c_detaches_and_cancel_kills_the_application(project: Path, spark_head: SparkHead,
                                                          client_keys: Keys) -> None:
    attach(project, spark_head, client_keys)
    cli = Cli("experiment", "submit", "-c", "spark", "long.py", cwd=project)
    cli.wait_for("STARTED app-", timeout=120)  # streamed live while the job runs
    app_id = re.search(r"STARTED (app-\S+)", cli.text()).group(1)  # type: ignore[union-attr]
    cli.interrupt()
    code, out, err = cli.finish(timeout=60)
    run_id = run_id_of(out)
    assert code == ExitCode.CANCELED and f"detached: run {run_id} goes on on its target." in err
    assert spark_head.app(app_id)["state"] == "RUNNING"  # type: ignore[index]
    assert info(project, run_id)["status"] == "Running"

    done = amlexec("experiment", "cancel", "-r", run_id, "-o", "json", cwd=project, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Canceled"
    spark_head.wait_app_state(app_id, {"KILLED"}, timeout=30)  # killed on the cluster, not only locally
    control = (project / ".amlexec" / "runs" / run_id / "control_log.txt").read_text()
    assert f"killed Spark application {app_id} through the master's web UI http://127.0.0.1:8080" in control
    deadline = time.monotonic() + 30
    while "long.py" in spark_head.host.processes() or "CoarseGrainedExecutorBackend" in spark_head.host.processes():
        assert time.monotonic() < deadline, spark_head.host.processes()
        time.sleep(0.5)
    assert info(project, run_id)["properties"]["spark_application_id"] == app_id


def test_attach_says_when_spark_submit_is_missing(spark_head: SparkHead, client_keys: Keys) -> None:
    from amlexec.config.compute import ComputeTarget
    from amlexec.errors import NotFoundError
    from amlexec.targets.ssh.check import check_target

    trust(spark_head.host)
    compute = ComputeTarget(name="spark", path=None, type="cluster", address=spark_head.host.address,
                            username=USER, private_key_file=str(client_keys.good),
                            spark_submit_location="/opt/nowhere/spark-submit")
    with pytest.raises(NotFoundError, match="'/opt/nowhere/spark-submit' is not on"):
        check_target(compute, accept_host_key=False)
