"""Docker test fixtures: the real engine, a base image from `amlexec image bootstrap`, temp projects.

Test modules import the fixtures they use from here (a second conftest.py could not import the root one's
`require_engine`).

Everything a test creates is labelled with its project folder and removed by label afterwards; nothing
else on the engine is touched. Run the suite under `flock /tmp/amlexec-docker.lock` when other Docker
suites may run at the same time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from engines import require_engine

BASE_IMAGE = os.environ.get("AMLEXEC_TEST_BASE_IMAGE", "amlexec/base:bookworm")
BOOTSTRAP_DEADLINE = 900  # seconds; mmdebstrap takes 30-60 s with a reachable mirror


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from amlexec.errors import UnavailableError
    from amlexec.image.engine import connect

    try:
        return connect(timeout=60)
    except UnavailableError as exc:
        require_engine("docker", exc.message)


@pytest.fixture(scope="session")
def base_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The base image, made once per session by the project's own bootstrap command (reused if present)."""
    from docker.errors import ImageNotFound

    try:
        docker_client.images.get(BASE_IMAGE)
        return BASE_IMAGE
    except ImageNotFound:
        pass
    if BASE_IMAGE != "amlexec/base:bookworm":
        require_engine("docker", f"the base image {BASE_IMAGE} (AMLEXEC_TEST_BASE_IMAGE) is not on the engine")
    if shutil.which("mmdebstrap") is None:
        require_engine("docker", f"{BASE_IMAGE} is missing and mmdebstrap is not installed to build it")
    env = {**os.environ, "AMLEXEC_HOME": str(tmp_path_factory.mktemp("bootstrap-home"))}
    proc = subprocess.run([sys.executable, "-m", "amlexec", "image", "bootstrap"], env=env, capture_output=True,
                          text=True, timeout=BOOTSTRAP_DEADLINE)
    if proc.returncode != 0:
        pytest.fail(f"amlexec image bootstrap failed ({proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)
    return BASE_IMAGE


def remove_project_resources(client: Any, root: Path) -> None:
    """Force-remove every container and image labelled with this project folder."""
    from docker.errors import APIError

    label = f"amlexec.project_root={root}"
    for c in client.api.containers(all=True, filters={"label": label}):
        with contextlib.suppress(APIError):
            client.api.remove_container(c["Id"], force=True)
    for image in client.api.images(filters={"label": label}):
        for ref in image.get("RepoTags") or [image["Id"]]:
            with contextlib.suppress(APIError):
                client.api.remove_image(ref, force=True)


@dataclass
class DockerProject:
    root: Path
    client: Any

    @property
    def project(self) -> Any:
        from amlexec.project import Project

        return Project(self.root)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def conda(self, pip: list[str] | None = None, *, python: str | None = "python=3.11") -> None:
        deps: list[Any] = [python] if python else []
        if pip:
            deps.append({"pip": pip})
        self.write("aml_config/conda_dependencies.yml", yaml.safe_dump({"name": "env", "dependencies": deps}))

    def runconfig(self, name: str, **values: Any) -> None:
        data = {"ArgumentVector": ["$file"], "Target": "docker", "Framework": "Python",
                "CondaDependenciesFile": "aml_config/conda_dependencies.yml", "PrepareEnvironment": True,
                "TrackedRun": True, **values}
        self.write(f"aml_config/{name}.runconfig", yaml.safe_dump(data, allow_unicode=True))

    def compute(self, name: str = "docker", **values: Any) -> None:
        data = {"type": "docker", "baseDockerImage": BASE_IMAGE, "sharedVolumes": False, **values}
        self.write(f"aml_config/{name}.compute", yaml.safe_dump(data))

    def prepare(self, **kwargs: Any) -> Any:
        from amlexec.runs.preparation import PrepareRequest, prepare

        lines: list[str] = []
        result = prepare(self.project, PrepareRequest(runconfig=kwargs.pop("runconfig", "docker"), **kwargs),
                         progress=lines.append)
        result["progress"] = lines
        return result

    def submit(self, script: str, *args: str, runconfig: str = "docker", **options: Any) -> SubmitOutcome:
        from amlexec.runs.submit import SubmitRequest, submit

        out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        progress: list[str] = []
        result = submit(self.project, SubmitRequest(runconfig=runconfig, script=script, args=args, options=options),
                        sink=lambda stream, data: out[stream].extend(data), progress=progress.append,
                        announce=progress.append)
        return SubmitOutcome(result, bytes(out["stdout"]), bytes(out["stderr"]), progress)

    def containers(self, **filters: str) -> list[dict[str, Any]]:
        label = [f"amlexec.project_root={self.root}", *(f"{k}={v}" for k, v in filters.items())]
        return self.client.api.containers(all=True, filters={"label": label})

    def images(self) -> list[dict[str, Any]]:
        return self.client.api.images(filters={"label": f"amlexec.project_root={self.root}"})

    def cli(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None,
            **popen: Any) -> subprocess.CompletedProcess[str]:
        """The amlexec command (the one installed next to this Python), run in the project."""
        popen.setdefault("stdin", subprocess.DEVNULL)  # never a terminal: no prompt may wait for a person
        return subprocess.run([str(Path(sys.executable).with_name("amlexec")), *args], cwd=self.root,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, **popen)


@dataclass
class SubmitOutcome:
    result: Any
    stdout: bytes
    stderr: bytes
    progress: list[str]

    @property
    def record(self) -> Any:
        return self.result.record


@pytest.fixture(scope="session")
def venv_layer_cache(docker_client: Any, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One environment image kept for the whole session, so its venv layer stays in the build cache.

    Removing a test project's images also prunes their untagged parent layers; without a survivor every
    test would rebuild the venv layer (about 5 s).
    """
    from amlexec.project import Project
    from amlexec.runs.preparation import PrepareRequest, prepare
    from amlexec.scaffold import scaffold

    root = (tmp_path_factory.mktemp("cache") / "anchor").resolve()
    scaffold(root, base_image=base_image)
    saved = os.environ.get("AMLEXEC_HOME")
    os.environ["AMLEXEC_HOME"] = str(root.parent / "home")  # the session outlives every test's own home
    try:
        image = prepare(Project(root), PrepareRequest(runconfig="docker"), progress=lambda _: None)["image"]
    finally:
        if saved is None:
            os.environ.pop("AMLEXEC_HOME", None)
        else:
            os.environ["AMLEXEC_HOME"] = saved
    try:
        yield image
    finally:
        remove_project_resources(docker_client, root)


@contextlib.contextmanager
def scaffolded_project(root: Path, docker_client: Any, base_image: str) -> Iterator[DockerProject]:
    """A project made by `amlexec init` with a docker target; its images and containers go afterwards."""
    from amlexec.scaffold import scaffold

    root = root.resolve()
    scaffold(root, base_image=base_image)
    project = DockerProject(root, docker_client)
    project.compute()
    project.runconfig("docker")
    project.conda()
    try:
        yield project
    finally:
        remove_project_resources(docker_client, root)


@pytest.fixture()
def docker_project(docker_client: Any, venv_layer_cache: str, base_image: str,
                   tmp_path: Path) -> Iterator[DockerProject]:
    with scaffolded_project(tmp_path / "proj", docker_client, base_image) as project:
        yield project
