"""A run's container: its name, command, environment, mounts, and the tars that go in and come out.

Pure functions (pinned by unit tests) except for the tar readers/writers, which only touch the files
they are given. Shared by every Docker-based target.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from ..runenv import RunLayout, run_environment

if TYPE_CHECKING:  # tarfile only when a run's files are copied, not mounted (see HostFolders)
    import tarfile

RUN_DIR = "/azureml-run"  # the project snapshot, the script's working directory
OUTPUTS_DIR = f"{RUN_DIR}/outputs"
RUNTIME_DIR = "/opt/amlexec/runtime"  # amlexec.logging and the azureml.logging shim
STATE_DIR = "/opt/amlexec/run"  # amlexec's per-run files inside the container (the metrics file)
METRICS_PATH = f"{STATE_DIR}/metrics.jsonl"
SHARE_DIR = "/azureml-share/"  # Workbench's mount point for nativeSharedDirectory


def container_name(run_id: str) -> str:
    """The run id as a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), so `docker ps` shows which run it is."""
    name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", run_id)
    return name if re.match(r"[a-zA-Z0-9]", name) else f"amlexec-{name.lstrip('_.-')}"


@dataclass(frozen=True)
class HostFolders:
    """The run's folders on the engine's own machine, bind-mounted instead of copied in and out with tars:
    the private snapshot copy at RUN_DIR (with `outputs/`), amlexec's runtime read-only at RUNTIME_DIR,
    and a folder for the metrics file at STATE_DIR. Only for a local engine whose containers' files stay
    this process's to read and remove (see DockerTarget.host_folders)."""

    runtime: Path
    state: Path


@dataclass(frozen=True)
class ContainerPlan:
    """Everything `create_container` needs, without any engine objects, so tests can pin it."""

    name: str
    image: str
    command: list[str]
    environment: dict[str, str]
    labels: dict[str, str]
    binds: dict[str, dict[str, str]] = field(default_factory=dict)
    gpus: bool = False
    copy_snapshot: bool = True  # False when the snapshot is mounted (sharedVolumes: true, or HostFolders)
    copy_runtime: bool = True  # False when the runtime and the state folder are mounted (HostFolders)


def plan_container(
    *, run_id: str, image: str, python: str, argv: list[str], env: Mapping[str, str], labels: Mapping[str, str],
    workdir: Path, shared_volumes: bool, shared_dir: Path | None, gpus: bool, command: list[str] | None = None,
    host_folders: HostFolders | None = None,
) -> ContainerPlan:
    """The container for one run. `env` arrives as a dict and goes to the engine as one, never via a shell.

    The container runs `python argv...`, or `command` when given (spark-submit for Framework: PySpark).
    """
    shared = shared_volumes and shared_dir is not None
    environment = run_environment(env, RunLayout(outputs_dir=OUTPUTS_DIR, metrics_file=METRICS_PATH,
                                                 runtime_dir=RUNTIME_DIR, shared_dir=SHARE_DIR if shared else None))
    binds: dict[str, dict[str, str]] = {}
    if shared_volumes or host_folders is not None:
        binds[str(workdir)] = {"bind": RUN_DIR, "mode": "rw"}
    if host_folders is not None:
        binds[str(host_folders.runtime)] = {"bind": RUNTIME_DIR, "mode": "ro"}
        binds[str(host_folders.state)] = {"bind": STATE_DIR, "mode": "rw"}
    if shared_volumes and shared_dir is not None:
        binds[str(shared_dir)] = {"bind": SHARE_DIR.rstrip("/"), "mode": "rw"}
    return ContainerPlan(
        name=container_name(run_id), image=image, command=command or [python, *argv], environment=environment,
        labels=dict(labels), binds=binds, gpus=gpus, copy_snapshot=not (shared_volumes or host_folders),
        copy_runtime=host_folders is None,
    )


def create_kwargs(plan: ContainerPlan) -> dict[str, Any]:
    """Keyword arguments for `APIClient.create_container`, minus `host_config` (made by the client)."""
    return {
        "image": plan.image, "command": plan.command, "name": plan.name, "environment": plan.environment,
        "labels": plan.labels, "working_dir": RUN_DIR, "tty": False, "stdin_open": False,
    }


def host_config_kwargs(plan: ContainerPlan) -> dict[str, Any]:
    """Keyword arguments for `APIClient.create_host_config`."""
    kwargs: dict[str, Any] = {"binds": plan.binds or None, "init": True}
    if plan.gpus:
        # What `docker run --gpus all` sends: every GPU, through the engine's NVIDIA runtime hook. (The SDK
        # turns the API's own JSON form into its DeviceRequest type; amlexec's local client sends it as is.)
        kwargs["device_requests"] = [{"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]],
                                      "Options": {}}]
    return kwargs


# -- tars in -------------------------------------------------------------------------------------------
def _dir_entry(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    import tarfile

    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "root", "root"
    return info


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write_run_tar(out: IO[bytes], *, runtime: Mapping[str, bytes], snapshot: Path | None) -> None:
    """The tar put into the container at `/`: the runtime folder, the state folder, and the snapshot.

    Paths are relative to `/`, so the engine creates the folders. `outputs/` exists from the start, so a
    script can write into it without creating it.
    """
    import tarfile

    with tarfile.open(fileobj=out, mode="w") as tar:
        for folder in _parents(RUNTIME_DIR.lstrip("/")):
            tar.addfile(_dir_entry(folder))
        for rel, data in sorted(runtime.items()):
            for folder in _parents(str(PurePosixPath(RUNTIME_DIR.lstrip("/"), rel).parent)):
                tar.addfile(_dir_entry(folder))
            info = _root_owned(tarfile.TarInfo(f"{RUNTIME_DIR.lstrip('/')}/{rel}"))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        tar.addfile(_dir_entry(STATE_DIR.lstrip("/"), 0o777))
        if snapshot is not None:
            tar.add(str(snapshot), arcname=RUN_DIR.lstrip("/"), filter=_root_owned)
            tar.addfile(_dir_entry(OUTPUTS_DIR.lstrip("/"), 0o777))


def _parents(rel: str) -> list[str]:
    parts = PurePosixPath(rel).parts
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# -- tars out ------------------------------------------------------------------------------------------
class ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (what `get_archive` returns), read once, in order."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def extract_tree(stream: IO[bytes] | io.RawIOBase, dest: Path, *, strip: str, max_file_bytes: int) -> list[str]:
    """Extract regular files under the archive folder `strip` into `dest`; warnings for skipped members.

    Only plain files and folders are written, never outside `dest` (no absolute paths, `..`, links or
    devices from a container's archive), and files over `max_file_bytes` are skipped as Workbench did.
    """
    import tarfile

    warnings: list[str] = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if not parts or parts[0] != strip:
                continue
            rel = PurePosixPath(*parts[1:]) if len(parts) > 1 else None
            if rel is None or member.isdir():
                continue
            if rel.is_absolute() or ".." in rel.parts:
                warnings.append(f"{strip}/{rel} has an unsafe path; it was not kept")
                continue
            if not member.isfile():
                warnings.append(f"{strip}/{rel} is not a regular file; it was not kept")
                continue
            if member.size > max_file_bytes:
                warnings.append(
                    f"{strip}/{rel} is {member.size / 2**20:.0f} MiB, over the {max_file_bytes // 2**20} MiB "
                    "limit per file; it was not kept"
                )
                continue
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            with open(target, "wb") as fh:
                while chunk := source.read(1 << 20):
                    fh.write(chunk)
            os.chmod(target, 0o644)
    return warnings


def single_file(stream: IO[bytes] | io.RawIOBase) -> bytes | None:
    """The content of the archive's first regular file (`get_archive` of one file archives it alone)."""
    import tarfile

    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.isfile():
                source = tar.extractfile(member)
                assert source is not None
                return source.read()
    return None
