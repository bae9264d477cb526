"""Habits of Workbench projects: nested submits, which Python runs, Workbench-only modules, Windows paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerkit import base_image, docker_client, remove_project_resources, venv_layer_cache  # noqa: F401
from e2e_support import AMLEXEC, BIN, amlexec, write
from history_rows import recorded

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
OWN_PYTHON = Path(AMLEXEC).read_text().splitlines()[0][2:].strip()  # the console script's interpreter
OWN_VERSION = ".".join(map(str, sys.version_info[:3]))
NO_ENV = {"VIRTUAL_ENV": "", "CONDA_PREFIX": ""}
RUN_VARIABLES = ("AMLEXEC_PROJECT", "AMLEXEC_PROJECT_NAME", "AMLEXEC_METRICS_FILE", "AMLEXEC_OUTPUTS_DIR",
                 "AZUREML_RUN_ID", "AMLEXEC_RUN_ID", "AMLEXEC_TARGET", "AMLEXEC_RUNCONFIG",
                 "AZUREML_NATIVE_SHARE_DIRECTORY", "PYTHONPATH", "PYTHONUNBUFFERED")


def run_dir(project: Path, run_id: str) -> Path:
    return project / ".amlexec" / "runs" / run_id


DRIVER = """import json, os, subprocess
print("outer", os.environ["AMLEXEC_RUN_ID"], "project var:", os.environ.get("AMLEXEC_PROJECT"), flush=True)
done = subprocess.run(["amlexec", "experiment", "submit", "-c", "local", "./inner.py", "x"])
raise SystemExit(done.returncode)
"""
INNER = """import os
print("inner", os.environ["AMLEXEC_RUN_ID"], os.getcwd().split(os.sep)[-3:])
"""


def test_a_nested_submit_finds_its_project_from_its_working_folder(project: Path, tmp_path: Path):
    write(project, "driver.py", DRIVER)
    write(project, "inner.py", INNER)
    # The user's own AMLEXEC_PROJECT picks the project of the outer submit, and no longer leaks into the run.
    result = amlexec("experiment", "submit", "-c", "local", "driver.py", cwd=tmp_path, timeout=120,
                     env={"AMLEXEC_PROJECT": str(project), "PATH": f"{BIN}{os.pathsep}{SYSTEM_PATH}"})
    assert result.code == 0, result.err
    (outer_id, outer_script, _, outer_status), (inner_id, inner_script, inner_args, inner_status) = recorded(project)
    assert (outer_script, outer_status, inner_script, inner_args, inner_status) == (
        "driver.py", "Completed", "inner.py", '["x"]', "Completed")
    assert f"outer {outer_id} project var: None\n" in result.out
    assert f"inner {inner_id} ['.amlexec', 'work', '{inner_id}']\n" in result.out
    assert "excluded from the run snapshot" not in result.err
    assert list((project / ".amlexec" / "work").iterdir()) == []


def test_the_variables_a_local_run_sees(project: Path):
    names = repr(RUN_VARIABLES)
    write(project, "dump.py", f"import json, os\nprint(json.dumps({{n: os.environ.get(n) for n in {names}}}))\n")
    result = amlexec("experiment", "submit", "-c", "local", "dump.py", cwd=project,
                     env={"AMLEXEC_PROJECT": str(project), "HOME": str(project.parent), "PYTHONPATH": "/mine"})
    assert result.code == 0, result.err
    seen = json.loads(result.out.splitlines()[1])
    (run_id, *_), = recorded(project)
    work = project / ".amlexec" / "work" / run_id
    assert seen == {
        "AMLEXEC_PROJECT": None, "AMLEXEC_PROJECT_NAME": "proj",
        "AMLEXEC_METRICS_FILE": str(run_dir(project, run_id) / "metrics.jsonl"),
        "AMLEXEC_OUTPUTS_DIR": str(work / "outputs"), "AZUREML_RUN_ID": run_id, "AMLEXEC_RUN_ID": run_id,
        "AMLEXEC_TARGET": "local", "AMLEXEC_RUNCONFIG": "local",
        "AZUREML_NATIVE_SHARE_DIRECTORY": f"{project.parent}/.azureml/share/proj/",
        "PYTHONPATH": seen["PYTHONPATH"], "PYTHONUNBUFFERED": "1"}
    runtime, mine = seen["PYTHONPATH"].split(os.pathsep)
    assert Path(runtime, "azureml", "logging").is_dir() and mine == "/mine"


def test_without_an_active_venv_the_run_uses_amlexecs_own_python(project: Path, tmp_path: Path):
    wrong = write(tmp_path, "otherbin/python", "#!/bin/sh\necho 'the wrong python'\nexit 9\n")
    wrong.chmod(0o755)
    write(project, "which.py", "import sys; print(sys.executable)\n")
    result = amlexec("experiment", "submit", "-c", "local", "which.py", cwd=project,
                     env={**NO_ENV, "PATH": f"{wrong.parent}{os.pathsep}{SYSTEM_PATH}"})
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == OWN_PYTHON
    assert result.err.splitlines()[0] == (
        f"python: Python {OWN_VERSION} at {OWN_PYTHON} (pythonLocation 'python', no virtual environment active: "
        "amlexec's own Python)")


def test_an_active_venv_runs_the_script(project: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    write(project, "which.py", "import sys; print(sys.prefix)\n")
    result = amlexec("experiment", "submit", "-c", "local", "which.py", cwd=project,
                     env={**NO_ENV, "VIRTUAL_ENV": str(venv), "PATH": f"{venv}/bin{os.pathsep}{SYSTEM_PATH}"})
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == str(venv)
    assert result.err.splitlines()[0] == (f"python: Python {OWN_VERSION} at {venv}/bin/python (pythonLocation "
                                          f"'python' of the active environment {venv})")


def test_a_detached_local_submit_names_its_python_at_once(project: Path):
    result = amlexec("experiment", "submit", "-c", "local", "-a", "train.py", cwd=project, env=NO_ENV)
    assert result.code == 0, result.err
    assert result.err.splitlines()[0].startswith(f"python: Python {OWN_VERSION} at {OWN_PYTHON} (")
    (run_id, *_), = recorded(project)
    assert amlexec("history", "logs", "-r", run_id, "--follow", cwd=project, timeout=60).code == 0


@pytest.mark.docker
def test_a_docker_submit_names_the_environments_python(tmp_path: Path, docker_client, base_image,
                                                       venv_layer_cache):
    root = tmp_path / "dproj"
    assert amlexec("init", str(root), "--base-image", base_image, cwd=tmp_path).code == 0
    try:
        prepared = amlexec("experiment", "prepare", "-c", "docker", cwd=root, timeout=900)
        assert prepared.code == 0, prepared.err
        done = amlexec("experiment", "submit", "-c", "docker", "train.py", cwd=root, timeout=300)
        assert done.code == 0, done.err
        lines = [line for line in done.err.splitlines() if line.startswith("python: ")]
        assert len(lines) == 1 and re.fullmatch(r"python: Python 3\.\d+\.\d+ .+", lines[0]), done.err
    finally:
        remove_project_resources(docker_client, root)


def test_a_missing_module_names_the_interpreter_and_pythonlocation(project: Path):
    write(project, "needs.py", "print('starting')\nimport surely_missing_module_xyz\n")
    result = amlexec("experiment", "submit", "-c", "local", "needs.py", cwd=project, env=NO_ENV)
    assert result.code == 1
    assert "ModuleNotFoundError: No module named 'surely_missing_module_xyz'" in result.err
    assert result.err.splitlines()[-1] == (
        f"hint: the run's interpreter, Python {OWN_VERSION} at {OWN_PYTHON}, has no module "
        f"'surely_missing_module_xyz': install the package that provides it into that interpreter (`{OWN_PYTHON} "
        "-m pip install PACKAGE`), or choose another interpreter with pythonLocation in aml_config/local.compute")


IRIS_DATAPREP = """from azureml.logging import get_azureml_logger
from azureml.dataprep.package import run
iris = run('iris.dprep', dataflow_idx=0, spark=False)
"""
SCORE = """from azureml.api.schema.dataTypes import DataTypes
from azureml.api.realtime.services import generate_schema
"""


def test_workbench_only_modules_get_a_hint_naming_the_replacement(project: Path):
    write(project, "iris_sklearn.py", IRIS_DATAPREP)
    write(project, "score.py", SCORE)
    dataprep = amlexec("experiment", "submit", "-c", "local", "iris_sklearn.py", cwd=project)
    assert dataprep.code == 1
    assert dataprep.err.splitlines()[-1] == (
        "hint: azureml.dataprep is Azure ML Workbench's data preparation (.dprep packages run with "
        "azureml.dataprep.package.run); amlexec does not re-create it. Instead, read the data file directly, "
        "e.g. `df = pandas.read_csv('iris.csv')` in place of `run('iris.dprep', dataflow_idx=0)` "
        "(see docs/workbench-migration.md)")
    api = amlexec("experiment", "submit", "-c", "local", "score.py", cwd=project)
    assert api.code == 1
    assert api.err.splitlines()[-1].startswith(
        "hint: azureml.api is Azure ML Workbench's model management and operationalization SDK")
    assert "joblib.dump(model, 'outputs/model.pkl')" in api.err.splitlines()[-1]
    ok = amlexec("experiment", "submit", "-c", "local", "train.py", cwd=project)
    assert ok.code == 0 and "hint:" not in ok.err


def test_windows_style_script_paths_are_project_paths(project: Path):
    write(project, "code/02_modeling/x.py", "import sys; print('ran', sys.argv[1:])\n")
    result = amlexec("experiment", "submit", "-c", "local", "code\\02_modeling\\x.py", "a\\b", cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == "ran ['a\\\\b']"  # arguments stay as written
    assert [(script, args) for _, script, args, _ in recorded(project)] == [("code/02_modeling/x.py", '["a\\\\b"]')]
    missing = amlexec("experiment", "submit", "-c", "local", "code\\nope.py", cwd=project)
    assert (missing.code, missing.err.splitlines()[0]) == (
        66, f"amlexec: error: script 'code\\nope.py' does not exist in {project}")


def test_runconfiguration_show_warns_about_missing_dependency_files(project: Path):
    (project / "aml_config" / "conda_dependencies.yml").unlink()
    result = amlexec("runconfiguration", "show", "docker", cwd=project)
    assert result.code == 0 and "CondaDependenciesFile" in result.out
    assert result.err.splitlines() == [
        "amlexec: warning: aml_config/conda_dependencies.yml (CondaDependenciesFile in docker.runconfig) does not "
        "exist; docker, remotedocker and cluster runs read it"]
    (project / "aml_config" / "spark_dependencies.yml").unlink()
    both = amlexec("runconfiguration", "show", "docker", cwd=project)
    assert both.err.splitlines()[1] == (
        "amlexec: warning: aml_config/spark_dependencies.yml (SparkDependenciesFile in docker.runconfig) does not "
        "exist; only Framework: PySpark runs read it")
