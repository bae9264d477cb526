"""Conda packages installed into run images for real: the test channel (built at test time, indexed by
py-rattler) mapped with AMLEXEC_CHANNEL_MAP, py-rattler running inside the image's builder stage, builds
with the network off, runs on the docker target importing what was installed."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)

from amlexec.errors import ConfigError, EnvironmentBuildError

pytestmark = pytest.mark.docker

USE = "import alpha, beta, sys\nprint(alpha.__version__, beta.__version__, alpha.__file__.startswith(sys.prefix))\n"


@pytest.fixture
def conda_project(docker_project, conda_channel: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={conda_channel.as_uri()}")
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    deps(docker_project, "python=3.11", "beta")
    return docker_project


def deps(project, *specs: str, channels: tuple[str, ...] = ("amlexec-test",), pip: tuple[str, ...] = ()) -> None:
    items: list = list(specs)
    if pip:
        items.append({"pip": list(pip)})
    project.write("aml_config/conda_dependencies.yml",
                  yaml.safe_dump({"name": "project_environment", "channels": list(channels), "dependencies": items}))


def build_log(project, prepared) -> str:
    return (project.root / ".amlexec" / "builds" / f"{prepared['image'].split(':')[1]}.log").read_text()


def pin(project, prepared, **extra: str) -> subprocess.CompletedProcess[str]:
    """`amlexec env lock` for the base image's interpreter, as prepare's relock hint says."""
    return project.cli("env", "lock", "--python-from-base-image", prepared["python_version"], *extra.values())


def test_prepare_installs_locked_conda_packages_offline_and_a_run_imports_them(conda_project):
    prepared = conda_project.prepare(python_from_base_image=True)
    assert prepared["built"] is True and prepared["lock_pinned"] is False
    assert prepared["lock"].startswith(".amlexec/locks/conda_dependencies-")
    assert prepared["conda_packages"] == 3  # alpha, beta and the python stand-in
    assert prepared["python_source"] == "base-image" and prepared["python_version"].startswith("3.11.")
    assert any(line.startswith("no aml_config/conda-lock.yml: solving") for line in prepared["progress"])
    log = build_log(conda_project, prepared)
    assert "(network: none)" in log  # the build cannot reach anything: every package came in the context
    assert " AS amlexec-conda" in log and "conda tool image" in " ".join(prepared["progress"])
    assert "amlexec: installed 3 conda package(s) into /opt/amlexec/env" in log
    assert not conda_project.client.api.images(filters={"dangling": True, "label": f"amlexec.project_root="
                                                       f"{conda_project.root}"}), "no leftover builder stage"
    conda_project.write("use.py", USE)
    conda_project.runconfig("docker", PrepareEnvironment=False)  # the run must use the prepared image
    outcome = conda_project.submit("use.py")
    assert (outcome.result.exit_code, outcome.stdout) == (0, b"1.0 1.0 True\n"), outcome.stderr
    props = outcome.record.properties
    assert props["environment_image"] == prepared["image"] and props["python_version"] == prepared["python_version"]
    assert props["python_source"] == "base-image" and "--python-from-base-image" in props["python"]
    control = (conda_project.project.state_dir / "runs" / outcome.record.run_id / "control_log.txt").read_text()
    assert f"python: Python {prepared['python_version']} of base image" in control


def test_second_prepare_is_a_cache_hit_and_pinning_reuses_the_image(conda_project):
    first = conda_project.prepare(python_from_base_image=True)
    started = time.perf_counter()
    again = conda_project.prepare()  # the unpinned lock remembers --python-from-base-image
    elapsed = time.perf_counter() - started
    assert again["built"] is False and again["image_id"] == first["image_id"]
    assert again["progress"] == [], "no solve, no probe, no build"
    assert elapsed < 1.0, f"an unchanged prepare took {elapsed:.3f}s"
    proc = pin(conda_project, first)
    assert proc.returncode == 0, proc.stderr
    pinned = conda_project.prepare()
    assert pinned["lock"] == "aml_config/conda-lock.yml" and pinned["lock_pinned"] is True
    assert pinned["built"] is False and pinned["image_id"] == first["image_id"], "same packages, same image"


def test_a_changed_spec_with_a_stale_lock_is_reported(conda_project):
    first = conda_project.prepare(python_from_base_image=True)
    assert pin(conda_project, first).returncode == 0
    images = len(conda_project.images())
    deps(conda_project, "python=3.11", "beta", "alpha=1.0")
    with pytest.raises(ConfigError) as err:
        conda_project.prepare()
    assert err.value.message == ("aml_config/conda_dependencies.yml has changed since aml_config/conda-lock.yml "
                                 "was written: the lock no longer matches")
    assert err.value.hint.startswith("relock with: amlexec env lock -d aml_config/conda_dependencies.yml "
                                     f"--python-from-base-image {first['python_version']}")
    assert len(conda_project.images()) == images, "nothing built from a stale lock"
    proc = conda_project.cli("experiment", "prepare", "-c", "docker")  # the command line says the same, exit 78
    assert proc.returncode == 78 and "has changed since aml_config/conda-lock.yml" in proc.stderr
    # A submit finds out before it records anything: no Failed run is left in history for a stale lock.
    conda_project.write("noop.py", "")
    proc = conda_project.cli("experiment", "submit", "-c", "docker", "noop.py")
    assert (proc.returncode, proc.stdout) == (78, ""), proc.stderr
    assert "has changed since aml_config/conda-lock.yml" in proc.stderr and "add --relock" in proc.stderr
    assert json.loads(conda_project.cli("history", "list", "-o", "json").stdout) == []
    relocked = conda_project.prepare(relock=True)
    assert any(line.endswith(f"relocking ({err.value.hint.split('relock with: ')[1].split(' (or')[0]})")
               for line in relocked["progress"])
    assert relocked["image_id"] == first["image_id"], "alpha 1.0 was already the locked version"
    assert conda_project.cli("env", "lock", "--check").returncode == 0


def test_a_lock_for_another_interpreter_is_refused_with_the_right_relock(conda_project):
    assert conda_project.cli("env", "lock", "--python-from-base-image", "3.11.0").returncode == 0
    with pytest.raises(ConfigError) as err:
        conda_project.prepare()
    assert "describes the base image's interpreter as Python 3.11.0 with pip 23.0.1, but the base image has " \
           "Python 3.11." in err.value.message
    assert "--python-from-base-image 3.11.0" not in err.value.hint and conda_project.images() == []


def test_one_package_changed_rebuilds_the_conda_layers_only(conda_project):
    deps(conda_project, "python=3.11", "alpha=1.0")
    one = conda_project.prepare(python_from_base_image=True)
    deps(conda_project, "python=3.11", "alpha=2.0")
    two = conda_project.prepare()
    assert two["built"] is True and two["image"] != one["image"]
    log = build_log(conda_project, two)
    venv_step = log.split('"-m", "venv"', 1)[1].split("Step ", 1)[0]
    assert "Using cache" in venv_step, "the venv layer does not depend on the lock"
    assert "zipfile" not in log and not any("tool image" in line for line in two["progress"]), "py-rattler kept"
    conda_project.write("use.py", "import alpha\nprint(alpha.__version__)\n")
    assert conda_project.submit("use.py").stdout == b"2.0\n"
    proc = conda_project.cli("experiment", "clean", "--yes")
    assert proc.returncode == 0 and conda_project.images() == [], "clean removes the tool image too"


def test_unsatisfiable_spec_names_the_spec_and_the_channel_and_builds_nothing(conda_project, conda_channel):
    deps(conda_project, "python=3.11", "alpha>=3")
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildError) as err:
        conda_project.prepare(python_from_base_image=True)
    assert time.monotonic() - started < 30
    assert err.value.message == (
        "aml_config/conda_dependencies.yml: no package matches 'alpha>=3' for linux-64 in channel(s) amlexec-test "
        f"(mapped to {conda_channel.as_uri()} by AMLEXEC_CHANNEL_MAP) (versions found: 1.0, 2.0)")
    assert conda_project.images() == [] and not list((conda_project.root / ".amlexec" / "locks").glob("*.yml"))


def test_unreachable_channel_fails_fast_naming_it(conda_project):
    # no channels: conda's `defaults`, which cannot be reached from here
    conda_project.write("aml_config/conda_dependencies.yml", "dependencies:\n  - python=3.11\n  - scikit-learn\n")
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildError) as err:
        conda_project.prepare(python_from_base_image=True)
    assert time.monotonic() - started < 30
    assert err.value.message.startswith("aml_config/conda_dependencies.yml: cannot read conda channel defaults: ")
    assert "--conda-from-pypi" in err.value.hint and conda_project.images() == []


def test_a_locked_package_missing_from_the_mirror_names_the_channel(conda_project, conda_channel, tmp_path,
                                                                   monkeypatch):
    import shutil

    mirror = tmp_path / "mirror"
    shutil.copytree(conda_channel, mirror)
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={mirror.as_uri()}")
    first = conda_project.prepare(python_from_base_image=True)
    assert pin(conda_project, first).returncode == 0
    conda_project.client.api.remove_image(first["image"], force=True)
    (mirror / "noarch" / "beta-1.0-py_0.tar.bz2").unlink()
    with pytest.raises(EnvironmentBuildError) as err:
        conda_project.prepare()
    assert err.value.message.startswith("locked package beta-1.0-py_0.tar.bz2 is not in channel "
                                        f"https://conda.anaconda.org/amlexec-test (mapped to {mirror.as_uri()})")
    assert environment_images(conda_project) == []


def environment_images(project) -> list[str]:
    """The project's environment image tags (its conda tool image, which outlives environments, excluded)."""
    return [t for i in project.images() for t in i.get("RepoTags") or [] if ":conda-tool-" not in t]

