"""PySpark on Docker targets without an engine: the Spark image's Dockerfile and tag, the container command."""

from __future__ import annotations

from pathlib import Path

from amlexec.config.dependencies import parse_spark
from amlexec.config.runconfig import parse_runconfig
from amlexec.environment.sparklayer import (
    SPARK_HOME,
    SPARK_SUBMIT,
    render_spark_dockerfile,
    spark_context_files,
    spark_image_tag,
)
from amlexec.targets.base import RunSpec
from amlexec.targets.docker.container import plan_container
from amlexec.targets.docker.runplan import spark_command


def test_the_spark_image_installs_the_wheel_in_a_stage_of_its_own() -> None:
    text = render_spark_dockerfile(base="sha256:b4se", interpreter="/usr/bin/python3",
                                   wheel="pyspark-4.3.0-py2.py3-none-any.whl", version="4.3.0")
    lines = text.splitlines()
    assert lines[1] == "FROM sha256:b4se AS install"
    assert lines[3] == 'RUN ["/usr/bin/python3", "-m", "venv", "/opt/amlexec/spark-installer"]'
    assert '"--no-index"' in lines[4] and '"--target", "/opt/amlexec/spark"' in lines[4]
    assert lines[4].endswith('"/opt/amlexec/spark-wheels/pyspark-4.3.0-py2.py3-none-any.whl"]')
    # The image keeps the installed tree only: the 450 MB wheel is not one of its layers.
    assert lines[5:8] == ["FROM sha256:b4se", "COPY --from=install /opt/amlexec/spark /opt/amlexec/spark",
                          f"ENV SPARK_HOME={SPARK_HOME}"]
    assert SPARK_SUBMIT == "/opt/amlexec/spark/pyspark/bin/spark-submit"


def test_the_spark_tag_follows_base_and_version_only() -> None:
    tag = spark_image_tag(base_id="sha256:aa", version="4.3.0")
    assert tag.startswith("amlexec-spark:4.3.0-") and tag == spark_image_tag(base_id="sha256:aa", version="4.3.0")
    assert tag != spark_image_tag(base_id="sha256:bb", version="4.3.0")
    assert tag != spark_image_tag(base_id="sha256:aa", version="3.5.1")


def test_the_context_holds_the_dockerfile_and_the_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "pyspark-4.3.0-py2.py3-none-any.whl"
    files = spark_context_files(dockerfile="FROM x\n", wheel_path=wheel, wheel=wheel.name)
    assert files == {"Dockerfile": b"FROM x\n", f"wheels/{wheel.name}": wheel}


def test_a_pyspark_container_runs_spark_submit_in_local_mode(tmp_path: Path) -> None:
    spark = parse_spark('configuration: {"spark.app.name": "Iris"}\n', display="s")
    rc = parse_runconfig("docker-spark", 'Framework: PySpark\nEnvironmentVariables: {A: "1 2"}\n', display="r")
    spec = RunSpec(run_id="p_1", project=None, compute=None, runconfig=rc, argv=["iris.py", "--k", "5"],  # type: ignore[arg-type]
                   env={"A": "1 2"}, workdir=tmp_path, run_dir=tmp_path)
    command = spark_command(spark, spec, python="/opt/amlexec/env/bin/python")
    assert command == [SPARK_SUBMIT, "--master", "local[*]",
                       "--conf", "spark.pyspark.python=/opt/amlexec/env/bin/python",
                       "--conf", "spark.pyspark.driver.python=/opt/amlexec/env/bin/python",
                       "--conf", "spark.app.name=Iris", "--conf", "spark.executorEnv.A=1 2", "iris.py", "--k", "5"]
    plan = plan_container(run_id="p_1", image="sha256:e", python="/opt/amlexec/env/bin/python", argv=spec.argv,
                          env=spec.env, labels={}, workdir=tmp_path, shared_volumes=False, shared_dir=None,
                          gpus=False, command=command)
    assert plan.command == command and plan.environment["A"] == "1 2"
