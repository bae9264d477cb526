"""Every real Workbench sample configuration loads unchanged and round-trips without losing a key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amlexec.config.compute import load_compute, render_compute
from amlexec.config.dependencies import load_conda, load_spark
from amlexec.config.runconfig import load_runconfig, render_runconfig
from amlexec.project import Project

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "workbench-samples"
COMPUTE = sorted(SAMPLES.rglob("*.compute"))
RUNCONFIG = sorted(SAMPLES.rglob("*.runconfig"))
CONDA = sorted(SAMPLES.rglob("conda_dependencies.yml"))
SPARK = sorted(SAMPLES.rglob("*spark_dependencies.yml"))


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(SAMPLES)) for p in paths]


def test_the_samples_are_there():
    assert len(COMPUTE) >= 12 and len(RUNCONFIG) >= 14 and len(CONDA) >= 6 and len(SPARK) >= 7


@pytest.mark.parametrize("path", COMPUTE, ids=ids(COMPUTE))
def test_compute_files_load_and_round_trip(path: Path):
    compute = load_compute(path)
    assert compute.type in ("local", "docker", "remotedocker", "remote", "cluster")
    original = {k: v for k, v in (yaml.safe_load(path.read_text()) or {}).items() if v is not None}
    rewritten = yaml.safe_load(render_compute(compute))
    for key, value in original.items():
        assert rewritten[key] == value, f"{key} changed"


@pytest.mark.parametrize("path", RUNCONFIG, ids=ids(RUNCONFIG))
def test_runconfig_files_load_and_round_trip(path: Path):
    rc = load_runconfig(path)
    assert rc.framework in ("Python", "PySpark")
    original = yaml.safe_load(path.read_text()) or {}
    rewritten = yaml.safe_load(render_runconfig(rc))
    for key, value in original.items():
        assert rewritten.get(key) == value, f"{key} changed"


@pytest.mark.parametrize("path", CONDA, ids=ids(CONDA))
def test_conda_files_load(path: Path):
    deps = load_conda(path)
    assert deps.python_spec is not None and deps.pip


@pytest.mark.parametrize("path", SPARK, ids=ids(SPARK))
def test_spark_files_load(path: Path):
    deps = load_spark(path)
    assert all(p.version for p in deps.packages)


def test_dependency_files_outside_aml_config_are_found_through_the_runconfig():
    project = Project(SAMPLES / "bigdata")
    rc = project.load_runconfig("myhdi")
    assert project.load_spark(rc).conf["spark.app.name"] == "aml-bigdata-hdi"
    assert project.load_conda(rc).python_version == "3.5.2"


def test_secret_references_and_empty_passwords():
    hyper = load_compute(SAMPLES / "hyperparam-2017" / "aml_config" / "dsvm.compute")
    assert hyper.password_is_reference and hyper.username == "dsuser"
    bigdata = load_compute(SAMPLES / "bigdata" / "aml_config" / "dockerdsvm.compute")
    assert bigdata.password is None and bigdata.address is None
    spark = load_compute(SAMPLES / "hyperparam-2017" / "aml_config" / "spark.compute")
    assert spark.type == "cluster" and spark.yarn_deploy_mode == "cluster"
