"""Issue 10 §2 on the real engines: a prepared environment is always the one a submit uses, on docker and on
remotedocker, in both orders (prepared offline then submitted online, and the reverse).

Containers here cannot reach PyPI, so an online build of `six` FAILS: a submit that rebuilt the environment
offline-prepared would fail visibly. The reverse order uses a project whose only pip entry is a local wheel,
which an online build installs without an index (an offline rebuild would succeed here, so that test asserts
from the engine that no image was added, and from the run record that the prepared image was used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)
from wheelmaker import make_wheel

pytestmark = pytest.mark.docker

USE_SIX = "import six, sys\nprint(six.__file__.startswith(sys.prefix))\n"
USE_WHEEL = "import amlexec_probe_pkg\nprint(amlexec_probe_pkg.VALUE)\n"


@pytest.fixture(params=["docker", pytest.param("remotedocker", marks=pytest.mark.ssh)])
def target(request: pytest.FixtureRequest) -> tuple[Any, Callable[[], set[str]]]:
    """(project, the ids of the environment images on the target's own engine)."""
    if request.param == "docker":
        project = request.getfixturevalue("docker_project")
        return project, lambda: {i["Id"] for i in project.images()}
    request.getfixturevalue("ssh_client_home")
    project = request.getfixturevalue("remote_project")
    host = request.getfixturevalue("docker_host")
    label = f"label=amlexec.project_root={project.root}"
    return project, lambda: set(host.docker("images", "--no-trunc", "-q", "--filter", label).split())


def runconfig(project: Any) -> str:
    return "vm" if project.root.joinpath("aml_config", "vm.runconfig").exists() else "docker"


def test_prepared_offline_then_submitted_online_builds_nothing(target, monkeypatch):
    """The issue's own commands, through the CLI: `prepare --offline`, then a plain (online) submit."""
    project, images = target
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    project.conda(pip=["six"])
    project.write("use.py", USE_SIX)
    rc = runconfig(project)
    prepared = project.cli("experiment", "prepare", "-c", rc, "--offline")
    assert prepared.returncode == 0, prepared.stderr
    built = images()
    assert len(built) == 1
    done = project.cli("experiment", "submit", "-c", rc, "use.py")  # PrepareEnvironment: true, online
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("RunId: ") and "\nTrue\n" in done.stdout
    assert "building the run environment" not in done.stderr and "downloading wheels" not in done.stderr
    assert images() == built, "no second image"
    online = project.prepare(offline=False)  # an online prepare finds it too, and says how it was built
    assert (online["built"], online["pip"], online["image_id"] in built) == (False, "offline", True)
    (record,) = _records(project)
    assert record.properties["environment_image"] == online["image"]


def test_prepared_online_then_submitted_offline_builds_nothing(target, monkeypatch):
    project, images = target
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    wheel = make_wheel(project.root / "dist", "amlexec_probe_pkg", "1.0", module_source="VALUE = 42\n")
    project.conda(pip=[f"./dist/{wheel.name}"])
    prepared = project.prepare(offline=False)
    assert (prepared["built"], prepared["pip"]) == (True, "online")
    built = images()
    project.write("use.py", USE_WHEEL)
    outcome = project.submit("use.py", offline=True)
    assert (outcome.result.exit_code, outcome.stdout) == (0, b"42\n"), outcome.stderr
    assert outcome.record.properties["environment_image"] == prepared["image"]
    assert not any("building" in line or "downloading wheels" in line for line in outcome.progress)
    assert images() == built, "no second image"
    again = project.prepare(offline=True)
    assert (again["built"], again["image_id"], again["pip"]) == (False, prepared["image_id"], "online")
    # What the image contains still decides: a changed dependency file is a new environment.
    project.conda(pip=[f"./dist/{wheel.name}"], python="python=3")
    assert project.prepare(offline=True)["built"] is True and len(images()) == 2


def _records(project: Any) -> list[Any]:
    from amlexec.runs.submit import open_store

    return open_store(project.project).query()


def test_lock_options_on_a_submit_never_rebuild_what_prepare_built(docker_project, conda_channel, monkeypatch):
    """`prepare --python-from-base-image` (a lock solved on the fly), then submits with other lock options:
    each uses the prepared image and says which option it did not apply."""
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={conda_channel.as_uri()}")
    docker_project.write("aml_config/conda_dependencies.yml",
                         "channels: [amlexec-test]\ndependencies:\n  - python=3.11\n  - beta\n")
    prepared = docker_project.prepare(python_from_base_image=True)
    assert prepared["built"] is True and prepared["lock_pinned"] is False
    built = {i["Id"] for i in docker_project.images()}
    docker_project.write("use.py", "import beta\nprint(beta.__version__)\n")
    for options in ({}, {"conda_from_pypi": True}, {"conda_from_pypi": True, "relock": True, "offline": False}):
        outcome = docker_project.submit("use.py", **options)
        assert (outcome.result.exit_code, outcome.stdout) == (0, b"1.0\n"), outcome.stderr
        assert outcome.record.properties["environment_image"] == prepared["image"]
        notes = [line for line in outcome.progress if line.startswith("note: --conda-from-pypi not applied")]
        assert len(notes) == (1 if options else 0), outcome.progress
        assert not any(line.startswith(("building", "solving", "no aml_config")) for line in outcome.progress)
    assert {i["Id"] for i in docker_project.images()} == built


def test_prepare_conda_from_pypi_does_not_blame_a_flag_the_user_did_not_pass(docker_project):
    docker_project.write("aml_config/conda_dependencies.yml", "dependencies:\n  - python=3.12\n  - numpy\n")
    done = docker_project.cli("experiment", "prepare", "-c", "docker", "--conda-from-pypi")
    assert (done.returncode, done.stdout) == (78, "")
    errors = [line for line in done.stderr.splitlines() if line.startswith(("amlexec: error:", "hint:"))]
    assert errors == [
        "amlexec: error: aml_config/conda_dependencies.yml: 'python=3.12' does not match the base image's "
        "interpreter, python 3.11.2, which --conda-from-pypi installs the wheels for",
        "hint: change 'python=3.12' to match python 3.11.2, or use a base image with that Python"]
    assert docker_project.images() == []
