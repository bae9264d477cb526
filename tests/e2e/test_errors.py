"""Bad input gets one pinned line (plus a hint) on stderr, a documented exit code, nothing on stdout."""

from __future__ import annotations

import pytest
from e2e_support import amlexec, write


def check(result, code: int, error: str, hint: str | None = None) -> None:
    assert result.code == code, result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == f"amlexec: error: {error}"
    if hint is not None:
        assert lines[1] == f"hint: {hint}"
    assert "Traceback" not in result.err


def test_no_project(tmp_path):
    check(amlexec("history", "list", cwd=tmp_path), 66, f"no aml_config/ folder in {tmp_path} or any folder above it",
          "run `amlexec init` to make this folder a project, or cd into a project")


def test_malformed_yaml_names_file_and_line(project):
    write(project, "aml_config/local.compute", 'type: "local"\naddress: [unclosed\n')
    check(amlexec("experiment", "submit", "-c", "local", "train.py", cwd=project), 78,
          "aml_config/local.compute: invalid YAML at line 2: while parsing a flow sequence, did not find "
          "expected ',' or ']' (noticed at line 3)", "fix the YAML syntax on that line")


def test_missing_dependency_file_is_named_and_no_run_is_recorded(project):
    (project / "aml_config" / "spark_dependencies.yml").unlink()
    write(project, "aml_config/spark.runconfig", "Target: local\nFramework: PySpark\n")
    check(amlexec("experiment", "submit", "-c", "spark", "train.py", cwd=project), 66,
          "aml_config/spark_dependencies.yml does not exist (named by SparkDependenciesFile in spark.runconfig)",
          "create it, or point SparkDependenciesFile at an existing file")
    assert amlexec("history", "list", "-o", "json", cwd=project).json() == []


def test_lock_switches_are_refused_where_no_lock_is_built(project):
    """--relock and friends would do nothing on these targets; saying so beats ignoring them."""
    check(amlexec("experiment", "submit", "-c", "local", "--relock", "--conda-from-pypi", "train.py", cwd=project), 2,
          "--conda-from-pypi and --relock only apply to docker and remotedocker targets, and 'local' is a local target",
          "leave the option out: this target installs no conda lock")
    assert amlexec("history", "list", "-o", "json", cwd=project).json() == []
    # Refused before any connection is tried: the address goes nowhere.
    write(project, "aml_config/spark.compute", 'type: cluster\naddress: "127.0.0.1:1"\nusername: u\n')
    write(project, "aml_config/spark.runconfig", "Target: spark\nFramework: PySpark\n")
    check(amlexec("experiment", "prepare", "-c", "spark", "--python-from-base-image", cwd=project), 2,
          "--python-from-base-image only applies to docker and remotedocker targets, and 'spark' is a cluster target")


def test_clean_names_a_target_without_docker_images(project):
    check(amlexec("experiment", "clean", "-t", "local", "--yes", cwd=project), 2,
          "'local' is a local target: amlexec makes no Docker images there",
          "name a docker or remotedocker target, or leave out -t for this machine's engine")


def test_unknown_runconfig_lists_the_known_ones(project):
    check(amlexec("experiment", "submit", "-c", "lcoal", "train.py", cwd=project), 66,
          "no run configuration 'lcoal': aml_config/lcoal.runconfig does not exist (did you mean 'local'?)",
          "known run configurations: docker, local; create one with `amlexec runconfiguration create`")


def test_unknown_target(project):
    check(amlexec("experiment", "submit", "-c", "local", "-t", "gpu", "train.py", cwd=project), 66,
          "no compute target 'gpu': aml_config/gpu.compute does not exist",
          "known targets: docker, local; create one with `amlexec computetarget attach`")


def test_missing_script(project):
    check(amlexec("experiment", "submit", "-c", "local", "tran.py", cwd=project), 66,
          f"script 'tran.py' does not exist in {project}", "give the script's path relative to the project root")
    assert amlexec("history", "list", "-o", "json", cwd=project).json() == []


def test_unknown_compute_type(project):
    write(project, "aml_config/local.compute", "type: locall\n")
    check(amlexec("experiment", "submit", "-c", "local", "train.py", cwd=project), 78,
          "aml_config/local.compute, line 1: 'type': 'locall' is not valid (did you mean 'local'?)",
          "use one of: cluster, docker, local, remote, remotedocker, slurm")


def test_misspelled_runconfig_key(project):
    write(project, "aml_config/local.runconfig", "Target: local\nFramework: Python\nEnviromentVariables:\n  A: b\n")
    check(amlexec("experiment", "submit", "-c", "local", "train.py", cwd=project), 78,
          "aml_config/local.runconfig, line 3: unknown key 'EnviromentVariables' "
          "(did you mean 'EnvironmentVariables'?)", "rename 'EnviromentVariables' to 'EnvironmentVariables'")


def test_unknown_run_id_also_in_json(project):
    check(amlexec("history", "info", "-r", "proj_1", cwd=project), 66, "no run 'proj_1' in this project's run history",
          "list runs with `amlexec history list`")
    # as in the az CLI, a failure prints nothing on stdout, whatever -o says: stderr and the exit code tell
    for fmt in ("json", "tsv", "yaml", "none"):
        check(amlexec("history", "info", "-r", "proj_1", "-o", fmt, cwd=project), 66,
              "no run 'proj_1' in this project's run history", "list runs with `amlexec history list`")


@pytest.mark.parametrize(("args", "error"), [
    (["experiment", "submit", "train.py"], "Missing option '--run-configuration' / '-c'"),
    (["histroy", "list"], "No such command 'histroy'. Did you mean 'history'?"),
    (["history", "list", "--last", "0"], "Invalid value for '--last': 0 is not in the range x>=1"),
])
def test_usage_errors(project, args, error):
    result = amlexec(*args, cwd=project)
    assert result.code == 2 and result.err.splitlines()[0] == f"amlexec: error: {error}"


def test_init_refuses_to_overwrite(project):
    check(amlexec("init", str(project), cwd=project), 2, f"{project}/aml_config already exists",
          "pass --force to overwrite its files")


def test_cancel_of_a_finished_run(project):
    amlexec("experiment", "submit", "-c", "local", "train.py", cwd=project)
    run_id = amlexec("history", "last", "--query", "run_id", "-o", "tsv", cwd=project).out.strip()
    check(amlexec("experiment", "cancel", "-r", run_id, cwd=project), 2, f"run {run_id} has already ended (Completed)")


def test_debug_shows_the_traceback(project):
    result = amlexec("--debug", "history", "info", "-r", "nope", cwd=project, allow_internal=True)
    assert result.code == 66 and "Traceback" in result.err
