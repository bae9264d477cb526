"""A run's container plan, the same for the docker and remotedocker targets: its command (the script, or
spark-submit of it for Framework: PySpark), environment, labels and mounts. Pure, pinned by unit tests."""

from __future__ import annotations

from pathlib import Path

from ...config.dependencies import SparkDependencies
from ...image.tags import LABEL_RUN_ID, project_labels
from ..base import RunSpec
from .container import ContainerPlan, HostFolders, plan_container


def spark_command(spark: SparkDependencies, spec: RunSpec, *, python: str) -> list[str]:
    """`spark-submit --master local[*]` of the script inside the container, with spark_dependencies.yml
    applied and the run's env vars on the executors too (the driver has them in its environment)."""
    from ...environment.spark import SparkPython, spark_submit_argv
    from ...environment.sparklayer import SPARK_SUBMIT

    return spark_submit_argv(spark, submit=SPARK_SUBMIT, script=spec.argv, master="local[*]", env=spec.env,
                             python=SparkPython(driver=python, executors=python))


def plan_run(spec: RunSpec, *, image: str, python: str, spark: SparkDependencies | None, gpus: bool,
             shared_volumes: bool, shared_dir: Path | None, host_folders: HostFolders | None = None) -> ContainerPlan:
    """The container of one run; `spark` (the run's spark_dependencies.yml) when it is Framework: PySpark."""
    labels = {**project_labels(spec.project.name, spec.project.root), LABEL_RUN_ID: spec.run_id}
    command = spark_command(spark, spec, python=python) if spark is not None else None
    return plan_container(run_id=spec.run_id, image=image, python=python, argv=spec.argv, env=spec.env,
                          labels=labels, workdir=spec.workdir, shared_volumes=shared_volumes, shared_dir=shared_dir,
                          gpus=gpus, command=command, host_folders=host_folders)
