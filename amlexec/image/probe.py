"""Which Python a base image offers, found by running it once per image id and remembered.

The answer decides the offline wheels' platform (Python version, ABI, glibc, machine), is checked
against `python=X.Y` in conda_dependencies.yml, and gives the Python and pip versions that
`--python-from-base-image` stand-ins describe and that a lock is checked against. An image id names
immutable content, so the cache never goes stale; it lives in the amlexec home and is shared by every
engine and project.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EnvironmentBuildError
from ..fsutil import amlexec_home, atomic_write
from .engine import sdk_errors

if TYPE_CHECKING:
    import docker

    from ..environment.wheels import TargetPython

PROBE_TIMEOUT = 60
INTERPRETERS = ("python3", "python")
_PROBE = """\
import importlib.util, json, platform, sys
libc = platform.libc_ver()
try:  # the pip that `python -m venv` puts into a new environment (ensurepip's bundled one)
    import ensurepip
    pip = ensurepip.version()
except Exception:
    pip = None
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "implementation": sys.implementation.name,
    "glibc": libc[1] if libc[0] == "glibc" else None,
    "machine": platform.machine(),
    "venv": importlib.util.find_spec("venv") is not None and importlib.util.find_spec("ensurepip") is not None,
    "pip": pip,
}))
"""


@dataclass(frozen=True)
class PythonInfo:
    executable: str
    version: str
    implementation: str
    glibc: str | None
    machine: str
    venv: bool
    pip: str | None = None  # the pip a new venv gets (ensurepip's); None in probes cached before it was asked

    @property
    def target(self) -> TargetPython:
        from ..environment.wheels import TargetPython  # what offline builds need; a found image does not

        return TargetPython(version=self.version, implementation=self.implementation, glibc=self.glibc,
                            machine=self.machine)


def _cache_file() -> Path:
    return amlexec_home() / "cache" / "python-probes.json"


def cached(image_id: str) -> PythonInfo | None:
    try:
        entry = json.loads(_cache_file().read_text()).get(image_id)
        info = PythonInfo(**entry) if entry else None
    except (OSError, ValueError, TypeError):
        return None
    if info is not None and info.pip is None and info.venv:
        return None  # probed by an older amlexec that did not ask for pip's version: probe again
    return info


def _remember(image_id: str, info: PythonInfo) -> None:
    path = _cache_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[image_id] = asdict(info)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True))


def python_of(client: docker.DockerClient, image_id: str, *, image: str) -> PythonInfo:
    """The base image's Python (from the cache when this image id was probed before)."""
    info = cached(image_id)
    if info is None:
        info = _probe(client, image_id, image=image)
        _remember(image_id, info)
    return info


def _probe(client: docker.DockerClient, image_id: str, *, image: str) -> PythonInfo:
    for interpreter in INTERPRETERS:
        output = _run(client, image_id, [interpreter, "-c", _PROBE])
        if output is None:
            continue
        try:
            info = PythonInfo(**json.loads(output.strip().splitlines()[-1]))
        except (ValueError, TypeError, IndexError) as exc:
            raise EnvironmentBuildError(f"could not read the Python version of base image {image}: "
                                        f"{output.strip()[-300:]!r}",
                                        hint="check its python3: docker run --rm IMAGE python3 -V") from exc
        if not info.version.startswith("3."):
            continue
        if not info.venv:
            raise EnvironmentBuildError(
                f"the Python {info.version} in base image {image} cannot create virtual environments "
                "(its venv/ensurepip modules are missing)",
                hint="on Debian or Ubuntu images install python3-venv, or use `amlexec image bootstrap`",
            )
        return info
    raise EnvironmentBuildError(
        f"base image {image} has no Python 3 interpreter (tried {', '.join(INTERPRETERS)})",
        hint="set baseDockerImage to an image with Python 3, e.g. one made by `amlexec image bootstrap`",
    )


def _run(client: docker.DockerClient, image_id: str, argv: list[str]) -> str | None:
    """The output of `argv` in a throwaway container, or None when the program does not exist there."""
    errors = sdk_errors()
    api = client.api
    try:
        container = api.create_container(image_id, entrypoint=argv[:1], command=argv[1:], network_disabled=True,
                                         labels={"amlexec": "1", "amlexec.probe": "1"})
    except errors.APIError as exc:
        raise EnvironmentBuildError(f"cannot start a container of {image_id[:19]}: {exc.explanation}",
                                    hint="check the engine's log and free disk space, then retry") from exc
    cid = container["Id"]
    try:
        try:
            api.start(cid)
        except errors.APIError as exc:
            if "executable file not found" in str(exc.explanation) or "no such file" in str(exc.explanation):
                return None
            raise EnvironmentBuildError(f"cannot run {argv[0]} in {image_id[:19]}: {exc.explanation}",
                                        hint="check that the image runs: docker run --rm IMAGE") from exc
        status = api.wait(cid, timeout=PROBE_TIMEOUT)
        logs = api.logs(cid, stdout=True, stderr=True).decode(errors="replace")
        code = status.get("StatusCode")
        if code == 127:
            return None
        if code != 0:
            raise EnvironmentBuildError(f"running {argv[0]} in the base image failed (exit code {code}): "
                                        f"{logs.strip()[-300:]}",
                                        hint="set baseDockerImage to an image whose Python 3 runs")
        return logs
    finally:
        with contextlib.suppress(errors.APIError):
            api.remove_container(cid, force=True)
