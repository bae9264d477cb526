"""`experiment prepare` against the real engine: builds, cache hits, layer reuse, offline builds."""

from __future__ import annotations

import io
import json
import time

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)
from wheelmaker import make_wheel

pytestmark = pytest.mark.docker


def layers(client, image_id: str) -> list[str]:
    return client.api.inspect_image(image_id)["RootFS"]["Layers"]


def test_prepare_then_submit(docker_project):
    first = docker_project.prepare()
    assert first["built"] is True and first["pip"] == "none" and first["python_version"].startswith("3.11")
    assert first["image"].startswith("amlexec-env/proj-")
    docker_project.write("hello.py", "import sys\nprint('hello from', sys.prefix)\n")
    docker_project.runconfig("docker", PrepareEnvironment=False)  # must use the prepared image, not build
    outcome = docker_project.submit("hello.py")
    assert outcome.result.exit_code == 0, outcome.stderr
    assert outcome.stdout == b"hello from /opt/amlexec/env\n"
    assert outcome.record.status == "Completed"
    assert not docker_project.containers(), "the run's container is removed afterwards"


def test_second_prepare_is_a_cache_hit(docker_project):
    first = docker_project.prepare()
    log = docker_project.root / ".amlexec" / "builds" / f"{first['image'].split(':')[1]}.log"
    stamp = log.stat().st_mtime_ns
    started = time.perf_counter()
    second = docker_project.prepare()
    elapsed = time.perf_counter() - started
    assert second["built"] is False and second["image_id"] == first["image_id"]
    assert second["progress"] == [], "nothing to report: no probe, no build"
    assert log.stat().st_mtime_ns == stamp
    assert elapsed < 0.3, f"a no-change prepare took {elapsed:.3f}s"


def test_editing_a_script_or_comments_never_rebuilds(docker_project):
    first = docker_project.prepare()
    docker_project.write("train.py", "print('changed')\n")
    conda = docker_project.root / "aml_config" / "conda_dependencies.yml"
    conda.write_text("# a comment that changes the bytes, not the meaning\n" + conda.read_text())
    again = docker_project.prepare()
    assert again["built"] is False and again["image_id"] == first["image_id"]


def test_changed_pip_dependency_rebuilds_only_the_pip_layer(docker_project):
    docker_project.conda(pip=["six"])
    one = docker_project.prepare(offline=True)
    docker_project.conda(pip=["six", "termcolor"])
    two = docker_project.prepare(offline=True)
    assert two["built"] is True and two["image"] != one["image"]
    base = layers(docker_project.client, docker_project.client.api.inspect_image(one["base_image"])["Id"])
    a, b = layers(docker_project.client, one["image_id"]), layers(docker_project.client, two["image_id"])
    venv = len(base)  # the layer right above the base image holds the empty venv
    assert a[:venv + 1] == b[:venv + 1], "base image and venv layers are reused"
    assert a[venv + 1:] != b[venv + 1:] and len(a) == len(b)
    log = (docker_project.root / ".amlexec" / "builds" / f"{two['image'].split(':')[1]}.log").read_text()
    venv_step = log.split("-m\", \"venv\"", 1)[1].split("Step ", 1)[0]
    assert "Using cache" in venv_step


def test_offline_build_installs_wheels_the_host_downloaded(docker_project):
    docker_project.conda(pip=["six"])
    prepared = docker_project.prepare(offline=True)
    assert prepared["pip"] == "offline" and prepared["built"] is True
    log = (docker_project.root / ".amlexec" / "builds" / f"{prepared['image'].split(':')[1]}.log").read_text()
    assert "(network: none)" in log and "--require-hashes" in log and "--only-binary=:all:" in log
    assert any(line.startswith("six==") and "--hash=sha256:" in line for line in _lock(docker_project, prepared))
    docker_project.write("use_six.py", "import six, sys\nprint(six.__file__.startswith(sys.prefix))\n")
    outcome = docker_project.submit("use_six.py", offline=True)
    assert (outcome.result.exit_code, outcome.stdout) == (0, b"True\n"), outcome.stderr


def _lock(project, prepared) -> list[str]:
    """The lock file baked into the image, read back with get_archive."""
    import tarfile

    client = project.client
    cid = client.api.create_container(prepared["image_id"], command=["true"],
                                      labels={"amlexec.project_root": str(project.root)})["Id"]
    try:
        chunks, _ = client.api.get_archive(cid, "/opt/amlexec/pip/requirements.lock")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.extractfile("requirements.lock")
            assert member is not None
            return member.read().decode().splitlines()
    finally:
        client.api.remove_container(cid, force=True)


def test_offline_setting_from_the_compute_file(docker_project, monkeypatch):
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    docker_project.compute(offlineBuild=True)
    docker_project.conda(pip=["six"])
    assert docker_project.prepare()["pip"] == "offline"
    monkeypatch.setenv("AMLEXEC_OFFLINE", "0")  # the environment beats the file, the flag beats both
    assert docker_project.prepare(offline=True)["pip"] == "offline"


def test_local_wheel_installs_online_without_an_index(docker_project):
    wheel = make_wheel(docker_project.root / "dist", "amlexec_probe_pkg", "1.0", module_source="VALUE = 42\n")
    docker_project.conda(pip=[f"./dist/{wheel.name}"])
    prepared = docker_project.prepare(offline=False)
    assert prepared["pip"] == "online" and prepared["built"]
    docker_project.write("use.py", "import amlexec_probe_pkg\nprint(amlexec_probe_pkg.VALUE)\n")
    outcome = docker_project.submit("use.py")
    assert outcome.stdout == b"42\n", outcome.stderr
    wheel.write_bytes(wheel.read_bytes() + b"\0")  # new content, same name: a new image
    assert docker_project.prepare(offline=False)["built"] is True


def test_prepare_reports_the_base_python_once_per_base_image(docker_project, isolated_home):
    first = docker_project.prepare()
    assert any("checking the Python in base image" in line for line in first["progress"])
    cache = json.loads((isolated_home / "cache" / "python-probes.json").read_text())
    (entry,) = cache.values()
    assert entry["version"] == first["python_version"] and entry["venv"] is True
    docker_project.conda(pip=["six"])
    assert not any("checking the Python" in line for line in docker_project.prepare(offline=True)["progress"])
