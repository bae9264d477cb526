"""remotedocker: attach checks, base images on a host that cannot pull, and environment images built by the
host's own engine (same content-hash tag as locally, cache hits, offline builds)."""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
import uuid
from pathlib import Path

import docker.errors
import pytest
import yaml
from dockerhostfixtures import NO_DOCKER_USER, DockerHost, LoadedBase, RemoteProject, trust_docker_host
from dockerkit import BASE_IMAGE, DockerProject, docker_client  # noqa: F401  (fixture)
from sshfixtures import USER, Keys, amlexec
from wheelmaker import make_wheel

from amlexec.errors import ExitCode, NotFoundError

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]


def attach(root: Path, host: DockerHost, keys: Keys, *, user: str = USER, base: str = BASE_IMAGE):
    return amlexec("computetarget", "attach", "remotedocker", "-n", "vm", "-a", host.address, "-u", user,
                   "--private-key-file", str(keys.good), "--base-image", base, cwd=root)


@pytest.fixture
def empty_project(tmp_path: Path, docker_host: DockerHost, loaded_base: LoadedBase) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    trust_docker_host(docker_host)
    return root


def test_attach_checks_the_engine_api_and_reports_the_base_image(empty_project: Path, docker_host: DockerHost,
                                                                   client_keys: Keys) -> None:
    done = attach(empty_project, docker_host, client_keys)
    assert done.returncode == 0, done.stderr
    assert f"{USER} without sudo" in done.stderr and "Docker engine 20." in done.stderr
    assert f"base image {BASE_IMAGE} is there" in done.stderr
    compute = yaml.safe_load((empty_project / "aml_config" / "vm.compute").read_text())
    assert compute["type"] == "remotedocker" and compute["sharedVolumes"] is True
    missing = attach(empty_project, docker_host, client_keys, base="amlexec-test/absent:1")
    assert missing.returncode == ExitCode.USAGE  # the target exists now: --force is needed, nothing changes
    forced = amlexec("computetarget", "attach", "remotedocker", "-n", "vm", "-a", docker_host.address, "-u", USER,
                     "--private-key-file", str(client_keys.good), "--base-image", "amlexec-test/absent:1", "--force",
                     cwd=empty_project)
    assert forced.returncode == 0, forced.stderr
    assert "base image amlexec-test/absent:1 is not there yet" in forced.stderr
    assert "amlexec image push-to vm" in forced.stderr


def test_attach_names_a_user_outside_the_docker_group_and_never_uses_sudo(empty_project: Path,
                                                                           docker_host: DockerHost,
                                                                           client_keys: Keys) -> None:
    done = attach(empty_project, docker_host, client_keys, user=NO_DOCKER_USER)
    assert done.returncode == ExitCode.AUTH
    assert f"amlexec: error: {NO_DOCKER_USER} may not use the Docker engine on {NO_DOCKER_USER}@" in done.stderr
    assert f"sudo usermod -aG docker {NO_DOCKER_USER}" in done.stderr
    assert list((empty_project / "aml_config").iterdir()) == []


def test_the_session_base_image_was_copied_without_a_registry(loaded_base: LoadedBase, docker_host: DockerHost,
                                                              docker_client) -> None:
    local_id = docker_client.api.inspect_image(BASE_IMAGE)["Id"]
    assert (loaded_base.how, loaded_base.image_id) == ("copied", local_id)
    assert docker_host.image_id(BASE_IMAGE) == local_id, "the same id: environment tags match the local ones"
    assert loaded_base.bytes_sent > 100_000_000
    assert loaded_base.progress[0].startswith(f"copying image {BASE_IMAGE} (")
    assert loaded_base.progress[-1].startswith(f"copied {BASE_IMAGE} to ")


def _tiny_image(client, ref: str) -> str:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        body = f"{ref}\n".encode()
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    repository, tag = ref.split(":")
    client.api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)
    return client.api.inspect_image(ref)["Id"]


def test_push_to_copies_an_image_once_and_prepare_copies_a_missing_base_image(
        remote_project: RemoteProject, docker_host: DockerHost, docker_client) -> None:
    tiny, alias = f"amlexec-test/tiny:{uuid.uuid4().hex[:8]}", f"amlexec-test/base-alias:{uuid.uuid4().hex[:8]}"
    try:
        tiny_id = _tiny_image(docker_client, tiny)
        first = remote_project.cli("image", "push-to", "vm", "--image", tiny, "-o", "json")
        assert first.returncode == 0, first.stderr
        assert '"how": "copied"' in first.stdout and f"copying image {tiny}" in first.stderr
        assert docker_host.image_id(tiny) == tiny_id
        again = remote_project.cli("image", "push-to", "vm", "--image", tiny)
        assert again.returncode == 0 and "nothing sent" in again.stderr
        # A base image the host lacks by name but has by content is only tagged there, then used.
        docker_client.api.tag(BASE_IMAGE, *alias.split(":"))
        remote_project.compute(baseDockerImage=alias)
        prepared = remote_project.prepare()
        assert prepared["built"] and prepared["base_image"] == alias
        base_id = docker_client.api.inspect_image(BASE_IMAGE)["Id"]
        assert f"already has image {base_id[:19]}; tagged it {alias}" in "\n".join(prepared["progress"])
        assert docker_host.image_id(alias) == base_id
    finally:
        for ref in (tiny, alias):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.api.remove_image(ref)  # untags the alias; the base image stays
            docker_host.docker("rmi", ref, check=False)


def test_a_base_image_nowhere_to_be_found_says_how_to_get_it_there(remote_project: RemoteProject) -> None:
    remote_project.compute(baseDockerImage="amlexec-test/nowhere:1")
    with pytest.raises(NotFoundError) as caught:
        remote_project.prepare()
    assert "base image amlexec-test/nowhere:1 is neither on amluser@" in caught.value.message
    assert "could not pull it" in caught.value.message
    assert "amlexec image push-to vm" in (caught.value.hint or "")


def test_prepare_builds_on_the_host_with_the_local_tag_then_hits_the_cache(remote_project: RemoteProject,
                                                                          docker_host: DockerHost) -> None:
    first = remote_project.prepare()
    assert first["built"] is True and first["pip"] == "none"
    assert docker_host.image_id(first["image"]) == first["image_id"], "built by the host's own engine"
    started = time.perf_counter()
    second = remote_project.prepare()
    elapsed = time.perf_counter() - started
    assert second["built"] is False and second["image_id"] == first["image_id"]
    assert second["progress"] == [], "nothing to report: no copy, no probe, no build"
    assert elapsed < 1.5, f"a no-change prepare on the host took {elapsed:.2f}s"
    # The lock switches reach the remote engine's build as they reach the local one's.
    relocked = remote_project.prepare(relock=True)
    assert relocked["built"] is False and relocked["image_id"] == first["image_id"]
    # The same project prepared on this machine's engine gets the very same content-hash tag.
    local = DockerProject(remote_project.root, remote_project.client)
    local.compute("docker")
    local.runconfig("docker")
    assert local.prepare(runconfig="docker")["image"] == first["image"]


def test_offline_build_on_the_host_installs_wheels_this_machine_downloaded(remote_project: RemoteProject,
                                                                          docker_host: DockerHost) -> None:
    wheel = make_wheel(remote_project.root / "dist", "amlexec_probe_pkg", "1.0", module_source="VALUE = 42\n")
    remote_project.conda(pip=[f"./dist/{wheel.name}"])
    prepared = remote_project.prepare(offline=True)
    assert (prepared["pip"], prepared["built"]) == ("offline", True)
    log = Path(prepared["build_log"]).read_text()
    assert "(network: none)" in log and "--require-hashes" in log
    remote_project.write("use.py", "import amlexec_probe_pkg\nprint(amlexec_probe_pkg.VALUE)\n")
    remote_project.runconfig(PrepareEnvironment=False)  # the prepared image is used, not built again
    outcome = remote_project.submit("use.py", offline=True)
    assert (outcome.result.exit_code, outcome.stdout) == (0, b"42\n"), outcome.stderr
