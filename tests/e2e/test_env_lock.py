"""`amlexec env lock` as a user runs it: the installed command, in a project made by `amlexec init`."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import amlexec, write

CONDA_FILE = """\
name: project_environment
channels:
  - amlexec-test
dependencies:
  - python=3.11
  - beta
"""


@pytest.fixture
def channel_env(conda_channel: Path) -> dict[str, str]:
    return {"AMLEXEC_CHANNEL_MAP": f"amlexec-test={conda_channel.as_uri()}"}


def test_lock_writes_the_lock_and_reports_it(project: Path, channel_env):
    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE)
    r = amlexec("env", "lock", "-c", "docker", "--python-from-base-image", "3.11.7", cwd=project, env=channel_env)
    assert r.code == 0, r.err
    assert r.out.splitlines()[:6] == [
        "lock_file        aml_config/conda-lock.yml", "dependency_file  aml_config/conda_dependencies.yml",
        "changed          true", "python           3.11.7", "conda_packages   3", "pip_packages     0"]
    assert r.err.splitlines() == [
        "solving 2 conda spec(s) for linux-64 from amlexec-test (mapped to "
        f"{channel_env['AMLEXEC_CHANNEL_MAP'].split('=', 1)[1]} by AMLEXEC_CHANNEL_MAP)",
        "wrote aml_config/conda-lock.yml"]
    text = (project / "aml_config" / "conda-lock.yml").read_text()
    assert text.splitlines()[1] == (
        "#   amlexec env lock -d aml_config/conda_dependencies.yml --python-from-base-image 3.11.7")

    again = amlexec("env", "lock", "--python-from-base-image", "3.11.7", "-o", "json", cwd=project, env=channel_env)
    assert again.code == 0, again.err
    assert again.json()["changed"] is False
    assert again.err.splitlines()[-1] == "aml_config/conda-lock.yml is up to date (unchanged)"
    assert (project / "aml_config" / "conda-lock.yml").read_text() == text


def test_check_reports_a_stale_lock_with_the_relock_command(project: Path, channel_env):
    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE)
    assert amlexec("env", "lock", "--python-from-base-image", "3.11.7", cwd=project, env=channel_env).code == 0
    fresh = amlexec("env", "lock", "--check", cwd=project, env=channel_env)
    assert (fresh.code, fresh.out.splitlines()[-1]) == (0, "state            fresh")

    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE.replace("  - beta\n", "  - beta\n  - alpha<2\n"))
    stale = amlexec("env", "lock", "--check", cwd=project, env=channel_env)
    assert (stale.code, stale.out) == (78, "")
    assert stale.err.splitlines() == [
        "amlexec: error: aml_config/conda_dependencies.yml has changed since aml_config/conda-lock.yml was written: "
        "the lock no longer matches",
        "hint: relock with: amlexec env lock -d aml_config/conda_dependencies.yml --python-from-base-image 3.11.7"]
    # a comment or reordered keys do not make a lock stale: only the file's meaning counts
    relocked = amlexec("env", "lock", "-d", "aml_config/conda_dependencies.yml", "--python-from-base-image", "3.11.7",
                       cwd=project, env=channel_env)
    assert relocked.code == 0, relocked.err
    write(project, "aml_config/conda_dependencies.yml",
          "# a comment\n" + CONDA_FILE.replace("  - beta\n", "  - beta\n  - alpha<2\n"))
    assert amlexec("env", "lock", "--check", cwd=project, env=channel_env).code == 0


def test_check_without_a_lock(project: Path):
    r = amlexec("env", "lock", "--check", cwd=project)
    assert r.code == 66
    assert r.err.splitlines() == ["amlexec: error: aml_config/conda-lock.yml does not exist",
                                  "hint: write it with: amlexec env lock -d aml_config/conda_dependencies.yml"]


def test_unsatisfiable_spec_exit_code_and_message(project: Path, channel_env, conda_channel: Path):
    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE.replace("  - beta\n", "  - beta>=7\n"))
    r = amlexec("env", "lock", "--python-from-base-image", "3.11.7", "-o", "json", cwd=project, env=channel_env)
    assert r.code == 71
    assert r.err.splitlines()[0].startswith("solving 2 conda spec(s) for linux-64 from amlexec-test")  # progress
    assert r.err.splitlines()[1] == (
        "amlexec: error: aml_config/conda_dependencies.yml: no package matches 'beta>=7' for linux-64 in "
        f"channel(s) amlexec-test (mapped to {conda_channel.as_uri()} by AMLEXEC_CHANNEL_MAP) (versions found: 1.0)")
    assert r.out == ""  # a failure prints nothing on stdout, even with -o json
    assert not (project / "aml_config" / "conda-lock.yml").exists()


def test_python_version_mismatch_names_both(project: Path, channel_env):
    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE.replace("python=3.11", "python=3.12"))
    r = amlexec("env", "lock", "--python-from-base-image", "3.11.7", cwd=project, env=channel_env)
    assert r.code == 71
    assert r.err.splitlines()[1:] == [
        "amlexec: error: aml_config/conda_dependencies.yml: 'python=3.12' does not match the base image's "
        "interpreter: --python-from-base-image gives python 3.11.7 (pip 23.0.1)",
        "hint: change 'python=3.12' to match python 3.11, or use a base image with that Python"]


def test_unreachable_channel_fails_fast(project: Path):
    write(project, "aml_config/conda_dependencies.yml", CONDA_FILE)
    r = amlexec("env", "lock", cwd=project, timeout=30)
    assert r.code == 71
    assert r.err.splitlines()[1].startswith(
        "amlexec: error: aml_config/conda_dependencies.yml: cannot read conda channel amlexec-test:")
    assert "hint: map the channel to a reachable mirror or local folder" in r.err


def test_usage_errors(project: Path):
    both = amlexec("env", "lock", "-c", "docker", "-d", "x.yml", cwd=project)
    assert (both.code, both.err.splitlines()[0]) == (2, "amlexec: error: give -c RUNCONFIG or -d CONDA_FILE, not both")
    pip_only = amlexec("env", "lock", "--base-image-pip", "24.0", cwd=project)
    assert (pip_only.code, pip_only.err.splitlines()[0]) == (
        2, "amlexec: error: --base-image-pip goes with --python-from-base-image")
    bad = amlexec("env", "lock", "--python-from-base-image", "three", cwd=project)
    assert (bad.code, bad.err.splitlines()[0]) == (
        2, "amlexec: error: 'three' is not a python version for --python-from-base-image")
    missing = amlexec("env", "lock", "-d", "aml_config/nope.yml", cwd=project)
    assert (missing.code, missing.err.splitlines()[0]) == (66, "amlexec: error: aml_config/nope.yml does not exist")
