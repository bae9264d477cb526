"""The cluster target without a cluster: its .compute keys, the command it starts, its environment hash."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import pytest

from amlexec.config.compute import parse_compute, render_compute
from amlexec.config.dependencies import parse_conda
from amlexec.environment.plan import plan_environment
from amlexec.errors import EnvironmentBuildError
from amlexec.project import Project
from amlexec.runtime import runtime_files, runtime_zip
from amlexec.targets.base import RunSpec, target_for
from amlexec.targets.cluster.environment import ClusterEnvironment, environment_hash
from amlexec.targets.cluster.target import ClusterTarget

HOME = "/home/sshuser"
VENV = f"{HOME}/.amlexec/envs/e1/venv/bin/python"
ENV = ClusterEnvironment(env_hash="e1", folder=f"{HOME}/.amlexec/envs/e1", python=VENV, python_version="3.11.2",
                         archive=f"{HOME}/.amlexec/envs/e1/env.tar.gz", packages=("x-1-py3-none-any.whl",),
                         built=False, seconds=0.0)
SYSTEM = dataclasses.replace(ENV, python="python3", archive=None, packages=())


def project(tmp_path: Path, compute: str, runconfig: str = "Framework: PySpark\n") -> Project:
    cfg = tmp_path / "aml_config"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "spark.compute").write_text(compute)
    (cfg / "spark.runconfig").write_text('ArgumentVector: ["$file"]\nTarget: spark\n' + runconfig)
    (cfg / "spark_dependencies.yml").write_text('configuration:\n  "spark.app.name": "Iris"\n')
    (cfg / "conda_dependencies.yml").write_text("dependencies:\n  - python=3.11\n")
    return Project(tmp_path)


def command(tmp_path: Path, compute: str, env: ClusterEnvironment = ENV, runconfig: str = "Framework: PySpark\n",
            run_env: dict[str, str] | None = None) -> list[str]:
    proj = project(tmp_path, compute, runconfig)
    target = target_for(proj.load_compute("spark"), proj)
    assert isinstance(target, ClusterTarget)
    target._env = env
    spec = RunSpec(run_id="p_1", project=proj, compute=target.compute, runconfig=proj.load_runconfig("spark"),
                   argv=["job.py", "a b"], env=run_env or {"K": "v"}, workdir=tmp_path, run_dir=tmp_path / "run")
    return target.command(spec, home=HOME)


BASE = "type: cluster\naddress: head-ssh.example:22\nusername: sshuser\n"


def test_compute_keys_round_trip_and_defaults() -> None:
    text = BASE + "sparkMaster: yarn\nyarnDeployMode: client\nsparkMasterUI: http://head:8080\n"
    compute = parse_compute("spark", text, display="spark.compute")
    assert (compute.spark_master, compute.yarn_deploy_mode, compute.spark_master_ui) == ("yarn", "client",
                                                                                         "http://head:8080")
    assert compute.ship_environment is True and "shipEnvironment" not in render_compute(compute)
    off = parse_compute("spark", BASE + "shipEnvironment: false\n", display="spark.compute")
    assert off.ship_environment is False and "shipEnvironment: false" in render_compute(off)


def test_pyspark_on_the_cluster_default_master(tmp_path: Path) -> None:
    argv = command(tmp_path, BASE)
    assert argv[:3] == ["spark-submit", "--archives", f"{HOME}/.amlexec/envs/e1/env.tar.gz#amlexec_env"]
    assert "--master" not in argv and "--deploy-mode" not in argv  # the cluster's spark-defaults.conf decides
    assert f"spark.pyspark.driver.python={VENV}" in argv and "spark.executorEnv.K=v" in argv
    assert argv[-2:] == ["job.py", "a b"]


def test_shared_environment_and_overrides(tmp_path: Path) -> None:
    argv = command(tmp_path, BASE + "shipEnvironment: false\nsparkMaster: spark://m:7077\n"
                   "sparkSubmitLocation: ~/spark/bin/spark-submit\n")
    assert argv[:3] == [f"{HOME}/spark/bin/spark-submit", "--master", "spark://m:7077"]
    assert "--archives" not in argv and f"spark.pyspark.python={VENV}" in argv


def test_yarn_cluster_mode_ships_the_runtime_zip(tmp_path: Path) -> None:
    argv = command(tmp_path, BASE + "sparkMaster: yarn\nyarnDeployMode: cluster\n")
    assert argv[argv.index("--py-files") + 1] == f"{HOME}/.amlexec/runs/p_1/amlexec_runtime.zip"
    assert "spark.yarn.appMasterEnv.K=v" in argv


def test_non_ascii_env_values_ship_the_runtime_to_the_executors(tmp_path: Path) -> None:
    """Issue 10: the executors restore such values with amlexec's worker module, from the shipped runtime."""
    plain = command(tmp_path, BASE + "sparkMaster: spark://m:7077\n")
    assert "--py-files" not in plain and not any("amlexec.spark" in a for a in plain)
    argv = command(tmp_path, BASE + "sparkMaster: spark://m:7077\n", run_env={"K": "v", "T": "ü"})
    assert argv[argv.index("--py-files") + 1] == f"{HOME}/.amlexec/runs/p_1/amlexec_runtime.zip"
    assert "spark.executorEnv.PYTHONPATH=amlexec_runtime.zip" in argv and "spark.executorEnv.K=v" in argv
    assert "spark.python.daemon.module=amlexec.sparkdaemon" in argv
    assert not any(a.startswith("spark.executorEnv.T=") for a in argv)


def test_no_packages_uses_the_clusters_python(tmp_path: Path) -> None:
    argv = command(tmp_path, BASE, env=SYSTEM)
    assert not any(a.startswith("spark.pyspark") for a in argv) and "--archives" not in argv
    pinned = command(tmp_path, BASE + "pythonLocation: /opt/py/bin/python3\n",
                     env=dataclasses.replace(SYSTEM, python="/opt/py/bin/python3"))
    assert "spark.pyspark.python=/opt/py/bin/python3" in pinned


def test_framework_python_runs_the_environments_python(tmp_path: Path) -> None:
    assert command(tmp_path, BASE, runconfig="Framework: Python\n") == [VENV, "-u", "job.py", "a b"]


def test_conda_packages_are_refused_with_the_cluster_in_the_message(tmp_path: Path) -> None:
    proj = project(tmp_path, BASE)
    (tmp_path / "aml_config" / "conda_dependencies.yml").write_text("dependencies:\n  - python=3.11\n  - numpy\n")
    target = target_for(proj.load_compute("spark"), proj)
    with pytest.raises(EnvironmentBuildError, match="cannot be installed on a cluster target: numpy"):
        target.check(proj.load_runconfig("spark"), None, None)


def test_environment_hash_follows_meaning_and_interpreter(tmp_path: Path) -> None:
    def plan(text: str):  # type: ignore[no-untyped-def]
        return plan_environment(parse_conda(text, display="c"), display="c", root=tmp_path)

    a = plan("dependencies:\n  - python=3.11\n  - pip: [six==1.16.0]\n")
    same = plan("# a comment\ndependencies: [python=3.11, {pip: ['six==1.16.0']}]\n")
    other = plan("dependencies:\n  - python=3.11\n  - pip: [six==1.17.0]\n")
    assert environment_hash(a, python_location="python3") == environment_hash(same, python_location="python3")
    assert environment_hash(a, python_location="python3") != environment_hash(other, python_location="python3")
    assert environment_hash(a, python_location="python3") != environment_hash(a, python_location="/opt/py3")


def test_runtime_zip_is_reproducible_and_holds_the_runtime() -> None:
    assert runtime_zip() == runtime_zip()
    with zipfile.ZipFile(io.BytesIO(runtime_zip())) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == runtime_files()
