"""Docker failures: each one clear, named, and leaving no image, tag or container behind."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)

from amlexec.errors import ConfigError, EnvironmentBuildError, NotFoundError, UnavailableError

pytestmark = pytest.mark.docker


def env_tags(project) -> list[str]:
    """Tags of this project's environment images (the repository name carries a hash of its folder)."""
    from amlexec.image.tags import environment_repository

    repository = environment_repository(project.root.name, project.root)
    return [t for i in project.client.api.images(name=repository) for t in i.get("RepoTags") or []]


def test_broken_yaml_is_a_config_error_and_builds_nothing(docker_project):
    docker_project.write("aml_config/conda_dependencies.yml", "dependencies: [python=3.11\n")
    with pytest.raises(ConfigError) as err:
        docker_project.prepare()
    assert err.value.message.startswith("aml_config/conda_dependencies.yml: invalid YAML at line 1")
    assert docker_project.images() == [] and env_tags(docker_project) == []


def test_package_that_does_not_exist_names_it_and_points_at_the_log(docker_project):
    docker_project.conda(pip=["amlexec-no-such-package-zzz==1.0"])
    with pytest.raises(EnvironmentBuildError) as err:
        docker_project.prepare(offline=True)
    assert "amlexec-no-such-package-zzz" in err.value.message
    log = re.search(r"full log: (\S+)\.", err.value.hint)
    assert log and "amlexec-no-such-package-zzz" in Path(log.group(1)).read_text()
    assert docker_project.images() == [] and env_tags(docker_project) == []


def test_a_failing_build_step_leaves_no_tag_and_no_leftover_image(docker_project, base_image, tmp_path):
    from amlexec.image.build import build_image

    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = (f"FROM {base_image}\n"
                      f"RUN echo {tmp_path.name} > /marker\n"  # unique, so this step is never a cache hit
                      "RUN echo 'about to fail' && exit 3\n").encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    log = tmp_path / "build.log"
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError) as err:
        build_image(docker_project.client, context=context, repository="amlexec-env/failing-test", tag="x",
                    log_path=log, progress=lines.append, live=False)
    assert err.value.message.startswith("building the environment image failed at step [3/3] RUN echo 'about to "
                                        "fail' && exit 3: exited with code 3")
    assert "about to fail" in err.value.message
    assert err.value.hint == f"full build log: {log}"
    step_images = re.findall(r"---> ([0-9a-f]{12})\n", log.read_text())
    assert step_images, "the log records the images of the steps that ran"
    from docker.errors import ImageNotFound

    with pytest.raises(ImageNotFound):
        docker_project.client.api.inspect_image(step_images[-1])  # the half-built image is gone
    assert docker_project.client.api.images(name="amlexec-env/failing-test") == []


def test_build_network_is_off_in_offline_mode(docker_project, base_image, tmp_path):
    """network_mode='none' really reaches the engine: a build step cannot open a connection."""
    from amlexec.image.build import build_image

    script = "import socket; socket.create_connection(('10.255.255.53', 53), timeout=3)"
    dockerfile = f"FROM {base_image}\nRUN [\"python3\", \"-c\", \"{script}\"]\n".encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    with pytest.raises(EnvironmentBuildError) as err:
        build_image(docker_project.client, context=context, repository="amlexec-env/network-test", tag="x",
                    log_path=tmp_path / "log", progress=lambda _: None, network_mode="none", live=False)
    assert "Network is unreachable" in (tmp_path / "log").read_text(), err.value.message


def test_python_pin_that_the_base_image_cannot_meet(docker_project):
    docker_project.conda(python="python=3.5.2")
    with pytest.raises(EnvironmentBuildError) as err:
        docker_project.prepare()
    assert re.fullmatch(r"aml_config/conda_dependencies\.yml asks for python=3\.5\.2, but the base image "
                        r"amlexec/base:bookworm has Python 3\.11\.\d+", err.value.message)
    assert docker_project.images() == []


def test_conda_packages_without_a_reachable_channel_fail_the_run_naming_the_channel(docker_project):
    """Conda packages are installed now (test_docker_conda.py); without a channel the run fails, clearly."""
    docker_project.write("aml_config/conda_dependencies.yml",
                         "dependencies:\n  - python=3.11\n  - scikit-learn\n  - pip:\n    - six\n")
    docker_project.write("noop.py", "pass\n")
    with pytest.raises(EnvironmentBuildError, match=r"cannot read conda channel defaults: "):
        docker_project.submit("noop.py", python_from_base_image=True)
    from amlexec.runs.submit import open_store

    (record,) = open_store(docker_project.project).query()
    assert record.status == "Failed" and "cannot read conda channel defaults" in (record.error or "")
    assert docker_project.images() == []


def test_missing_image_without_prepare_environment_says_how_to_build_it(docker_project):
    docker_project.runconfig("docker", PrepareEnvironment=False)
    docker_project.write("noop.py", "pass\n")
    with pytest.raises(NotFoundError) as err:
        docker_project.submit("noop.py")
    assert "has not been built yet" in err.value.message
    assert err.value.hint.startswith("build it with `amlexec experiment prepare -c docker`")
    from amlexec.runs.submit import open_store

    (record,) = open_store(docker_project.project).query()
    assert record.status == "Failed" and "has not been built yet" in (record.error or "")
    assert docker_project.containers() == []


def test_missing_base_image_suggests_bootstrap(docker_project):
    docker_project.compute(baseDockerImage="amlexec-test/no-such-base:1")
    with pytest.raises(NotFoundError) as err:
        docker_project.prepare()
    assert err.value.message.startswith("base image amlexec-test/no-such-base:1 is not on this Docker engine, "
                                        "and pulling it failed")
    assert "amlexec image bootstrap" in err.value.hint


def test_gpu_request_on_an_engine_without_gpus(docker_project):
    docker_project.compute(nvidiaDocker=True)
    docker_project.write("noop.py", "pass\n")
    info = docker_project.client.info()
    if "nvidia" in (info.get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime; the error path cannot be shown here")
    with pytest.raises(UnavailableError) as err:
        docker_project.submit("noop.py")
    assert err.value.message.startswith("nvidiaDocker: true asks for GPUs, but this Docker engine cannot provide")
    assert "NVIDIA Container Toolkit" in err.value.hint
    assert docker_project.containers() == []


def test_pyspark_on_a_base_image_without_java_fails_before_building(docker_project):
    docker_project.runconfig("docker", Framework="PySpark")
    docker_project.write("noop.py", "pass\n")
    with pytest.raises(EnvironmentBuildError) as err:
        docker_project.submit("noop.py")
    assert err.value.message.startswith("Framework: PySpark needs a Java runtime in the base image")
    assert "amlexec image bootstrap --spark" in err.value.hint
    assert docker_project.images() == []
