"""remotedocker runs the docker target's container plan: the same command (spark-submit with
spark_dependencies.yml for Framework: PySpark), environment, labels and mounts for the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlexec.config.compute import ComputeTarget
from amlexec.config.runconfig import parse_runconfig
from amlexec.environment.sparklayer import SPARK_SUBMIT
from amlexec.image.environment_image import PreparedImage
from amlexec.project import Project
from amlexec.targets.base import RunSpec, target_for

PREPARED = PreparedImage(ref="amlexec-env/p:1", image_id="sha256:e", env_hash="1", built=False,
                         base_image="python:3.11-slim-bookworm", python_version="3.11.2",
                         python="/opt/amlexec/env/bin/python", pip="online", seconds=0.0, log_path=None)


def _spec(project: Project, compute: ComputeTarget, framework: str) -> RunSpec:
    rc = parse_runconfig("vm", f"Framework: {framework}\nEnvironmentVariables: {{A: '1 2'}}\n", display="vm.runconfig")
    return RunSpec(run_id="p_1", project=project, compute=compute, runconfig=rc, argv=["iris.py", "--k", "5"],
                   env={"A": "1 2", "AMLEXEC_RUN_ID": "p_1"}, workdir=project.root / "work", run_dir=project.root)


@pytest.mark.parametrize("framework", ["Python", "PySpark"])
def test_a_remotedocker_plan_is_the_docker_plan_for_the_same_run(framework: str, tmp_path: Path) -> None:
    (tmp_path / "aml_config").mkdir()
    (tmp_path / "aml_config" / "spark_dependencies.yml").write_text(
        'configuration:\n  "spark.app.name": "Iris"\n')
    project = Project(tmp_path)
    plans = []
    for kind in ("docker", "remotedocker"):
        compute = ComputeTarget(name="vm", path=None, type=kind, address="10.0.0.4", username="u")
        target = target_for(compute, project)
        plans.append(target.plan(_spec(project, compute, framework), PREPARED))  # type: ignore[attr-defined]
    docker, remote = plans
    assert remote == docker
    if framework == "PySpark":
        assert docker.command[0] == SPARK_SUBMIT and "spark.app.name=Iris" in docker.command
        assert docker.command[-3:] == ["iris.py", "--k", "5"]
    else:
        assert docker.command == ["/opt/amlexec/env/bin/python", "iris.py", "--k", "5"]
