"""A real remote Docker host for the `remotedocker` tests: a docker-in-docker container of the image built
from tests/fixtures/dockerhost/, with its own filesystem, its own Docker engine and its own OpenSSH server,
reached only on a 127.0.0.1 port the test publishes.

A missing upload, or a path of this machine used as a bind mount, fails there as it would on a real host
(which mounting this machine's docker.sock into an sshd container would hide). One host serves the whole
session; the base image is copied into its engine once, by amlexec's own copy (`docker save | docker load`
over SSH). Run under the shared docker lock (`flock /tmp/amlexec-docker.lock python -m pytest ...`); the
fixtures never take it themselves (a nested flock would deadlock). Loaded as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerkit import BASE_IMAGE, DockerProject, docker_client, remove_project_resources  # noqa: F401 (fixture)
from engines import FIXTURES, require_engine
from integration.sshfixtures import USER, Keys, SshHost, wait_for_banner

RECIPE = FIXTURES / "dockerhost"
LABEL = "org.amlexec.test=remotedocker"
NO_DOCKER_USER = "nodocker"  # may log in, may not use the Docker engine
# What runs an inner Docker engine on this machine (see ../shared/notes/infra.md): --privileged fails here;
# the inner engine's storage must be a volume (overlay2 cannot sit on the container's own overlay).
DIND_FLAGS = ("--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
              "-v", "/var/lib/docker")
ENGINE_DEADLINE = 60.0


def _run(argv: list[str], *, timeout: float = 120, check: bool = True,
         input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, capture_output=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done


class DockerHost(SshHost):
    """An SSH host with its own Docker engine."""

    def docker(self, *args: str, check: bool = True) -> str:
        return self.sh(shlex.join(["docker", *args]), check=check)

    def containers(self, label: str = "amlexec.run_id") -> list[str]:
        """Names of the inner engine's containers (running or not) that carry `label`."""
        return self.docker("ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}").split()

    def image_id(self, ref: str) -> str | None:
        done = _run(["docker", "exec", self.name, "docker", "image", "inspect", "--format", "{{.Id}}", ref],
                    check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def start_listener_if_stopped(self) -> None:
        """After a test that stopped sshd's listener (even one that failed half-way), for the next test."""
        if self.sh("kill -0 $(cat /run/sshd.pid) 2>/dev/null && echo up || echo down", check=False).strip() != "up":
            self.start_listener()

    def engine_log(self) -> str:
        return self.sh("tail -n 50 /var/log/dockerd.log", check=False)


def ensure_image() -> str:
    if shutil.which("docker") is None or _run(["docker", "info"], check=False, timeout=30).returncode != 0:
        require_engine("docker", "no Docker engine answers (the remote Docker test host is a container)")
    if shutil.which("ssh-keygen") is None:
        require_engine("ssh", "ssh-keygen is missing (apt-get install openssh-client)")
    done = _run(["sh", str(RECIPE / "build.sh")], check=False, timeout=900)
    if done.returncode != 0:
        require_engine("docker", "the remote Docker host image could not be built (is mmdebstrap installed? see "
                       ".ci/ssh.sh): " + done.stderr.decode(errors="replace")[-500:])
    return done.stdout.decode().strip().splitlines()[-1]


def start_docker_host(image: str, keys: Keys) -> DockerHost:
    name = f"amlexec-dockerhost-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _run(["docker", "run", "-d", "--name", name, "--label", LABEL, *DIND_FLAGS, "-p", "127.0.0.1::22", image])
    try:
        port = int(_run(["docker", "port", name, "22/tcp"]).stdout.decode().split(":")[-1])
        wait_for_banner(port)
        host = DockerHost(name, port, "")
        host.key_line = " ".join(host.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
        for user in (USER, NO_DOCKER_USER):
            host.sh(f"mkdir -p ~{user}/.ssh && cat >> ~{user}/.ssh/authorized_keys && chown -R {user}: ~{user}/.ssh",
                    input=keys.good.with_suffix(".pub").read_bytes())
        deadline = time.monotonic() + ENGINE_DEADLINE
        while host.docker("info", "--format", "{{.ServerVersion}}", check=False).strip() == "":
            if time.monotonic() > deadline:
                raise AssertionError(f"the inner Docker engine of {name} did not start:\n{host.engine_log()}")
            time.sleep(0.2)
        return host
    except BaseException:
        _run(["docker", "rm", "-f", "-v", name], check=False)
        raise


@dataclass(frozen=True)
class LoadedBase:
    """How the session's base image got into the host's engine (amlexec's own copy)."""

    ref: str
    image_id: str
    how: str
    bytes_sent: int
    progress: tuple[str, ...]


@pytest.fixture(scope="session")
def docker_host(client_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerHost]:
    host = start_docker_host(ensure_image(), client_keys)
    try:
        yield host
    finally:
        _run(["docker", "rm", "-f", "-v", host.name], check=False)


@pytest.fixture(scope="session")
def loaded_base(docker_host: DockerHost, client_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> LoadedBase:
    """The base image, copied into the host's engine once per session by `image.transfer.copy_image`."""
    if _run(["docker", "image", "inspect", BASE_IMAGE], check=False).returncode != 0:
        require_engine("docker", f"the base image {BASE_IMAGE} is missing (`amlexec image bootstrap`, .ci/docker.sh)")
    from amlexec.image.engine import Engine
    from amlexec.image.sshengine import ssh_engine
    from amlexec.image.transfer import copy_image
    from amlexec.transport.ssh import SshConnection, SshSettings

    home = tmp_path_factory.mktemp("load-home")
    (home / "known_hosts").write_text(docker_host.known_hosts_line())
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("AMLEXEC_HOME", str(home))
        mp.delenv("SSH_AUTH_SOCK", raising=False)
        settings = SshSettings(host="127.0.0.1", port=docker_host.port, username=USER, key_file=str(client_keys.good))
        with SshConnection.open(settings) as conn:
            done = copy_image(Engine.local(), ssh_engine(conn), BASE_IMAGE, progress=lines.append)
    return LoadedBase(done.ref, done.image_id, done.how, done.bytes_sent, tuple(lines))


def trust_docker_host(host: SshHost) -> None:
    path = Path(os.environ["AMLEXEC_HOME"]) / "known_hosts"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(host.known_hosts_line())


class RemoteProject(DockerProject):
    """A project whose target `vm` is the session's remote Docker host (runconfig `vm` too)."""

    host: DockerHost
    key: Path

    def compute(self, name: str = "vm", **values: Any) -> None:
        data = {"type": "remotedocker", "address": self.host.address, "username": USER,
                "privateKeyFile": str(self.key), "baseDockerImage": BASE_IMAGE,
                "nativeSharedDirectory": "~/.azureml/share/", "sharedVolumes": True, **values}
        self.write(f"aml_config/{name}.compute", yaml.safe_dump(data))

    def runconfig(self, name: str = "vm", **values: Any) -> None:
        super().runconfig(name, **{"Target": "vm", **values})

    def prepare(self, **kwargs: Any) -> Any:
        return super().prepare(**{"runconfig": "vm", **kwargs})

    def submit(self, script: str, *args: str, runconfig: str = "vm", **options: Any) -> Any:
        return super().submit(script, *args, runconfig=runconfig, **options)

    def run_dir(self, run_id: str) -> Path:
        return self.root / ".amlexec" / "runs" / run_id


@pytest.fixture
def remote_project(docker_host: DockerHost, loaded_base: LoadedBase, client_keys: Keys, docker_client: Any,
                   tmp_path: Path, ssh_client_home: Path) -> Iterator[RemoteProject]:
    """A project attached to the remote Docker host (files written directly; attach has its own tests)."""
    from amlexec.scaffold import scaffold

    root = (tmp_path / "proj").resolve()
    scaffold(root, base_image=BASE_IMAGE)
    project = RemoteProject(root, docker_client)
    project.host, project.key = docker_host, client_keys.good
    trust_docker_host(docker_host)
    project.compute()
    project.runconfig()
    project.conda()
    try:
        yield project
    finally:
        remove_project_resources(docker_client, root)  # a test may prepare locally too, to compare tags
