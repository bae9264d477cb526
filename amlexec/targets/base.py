"""What every compute target provides, and the registry keyed by the `.compute` file's `type`.

A target turns a `RunSpec` into a running script and hands back a `RunHandle`. Everything targets share
(the run record, env vars, Ctrl-C, outputs, the final status) lives in `experiment.py`, not here.
A target that cannot do something simply lacks the method; there are no "not supported" stubs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..config.compute import ComputeTarget
from ..config.runconfig import RunConfig
from ..errors import ConfigError, UsageError
from ..project import Project

Sink = Callable[[str, bytes], None]
"""Receives live output: ("stdout" | "stderr", bytes)."""

Progress = Callable[[str], None]
"""Receives one line of progress for the user (stderr)."""

DRIVER_LOG = "driver_log.txt"
CONTROL_LOG = "control_log.txt"
METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class RunSpec:
    """Everything a target needs to start one run."""

    run_id: str
    project: Project
    compute: ComputeTarget
    runconfig: RunConfig
    argv: list[str]  # the script (relative to the snapshot root) and its arguments
    env: dict[str, str]  # EnvironmentVariables plus the target-independent run context variables
    workdir: Path  # a private copy of the project snapshot, made before the run starts
    run_dir: Path  # this run's folder in local run history: logs, metrics and outputs land here
    conda_file: str | None = None  # -d override
    spark_file: str | None = None  # -s override
    options: dict[str, Any] = field(default_factory=dict)  # target-specific switches from the CLI


class RunHandle(Protocol):
    """A started run. `state()` is saved in run history so another amlexec process can `restore` it.

    Handles of targets whose runs outlive amlexec may add `reattach_stream(sink, offset) -> int`: continue
    the output from byte `offset` of the local driver log until the run ends, appending to it, and return
    the log's new length. `history logs --follow` uses it when the supervising process is gone.
    Handles may also add `properties() -> dict`: facts about the run found while collecting it (a Spark
    application id, a UI address), merged into the run record's `properties` when the run is finalized.
    """

    def state(self) -> dict[str, Any]: ...

    def stream(self, sink: Sink) -> None:
        """Send live output to `sink` until the script's output ends, saving the driver log as it goes."""

    def wait(self) -> int:
        """Block until the script ends; its exit code (128+N for a signal)."""

    def poll(self) -> int | None:
        """The exit code if the script has ended, else None."""

    def cancel(self) -> None:
        """Stop the script and everything it started; returns once it is gone."""

    def collect(self, run_dir: Path) -> list[str]:
        """Bring the driver log, metrics and `outputs/` into `run_dir`; warnings to report."""

    def cleanup(self) -> None:
        """Remove what the run left on the target (working folder, container)."""


class Target(Protocol):
    """A compute target. Optional extras, looked up with getattr by experiment.py:

    - `check(runconfig, conda_file, spark_file, options)`: validate what can be validated before a run is
      recorded, so a broken dependency file, a stale lock or a missing program fails the command without
      leaving a Failed run;
    - `builds_from_conda_locks` (ClassVar, False when absent): the target builds its environment from a conda
      lock, so the lock switches (`LOCK_OPTIONS`) mean something to it;
    - `engine_for(what)`: a context manager giving the target's Docker engine for work outside a run
      (`experiment clean -t`); targets without one have nothing to clean;
    - `ensure_environment(spec, progress)`: build or refresh the run environment before `submit`; it may
      return a dict describing the environment (which image, which Python, which lock), which the run
      keeps in its properties (`history info`).
    """

    type: ClassVar[str]
    # True when a run keeps going if the amlexec process watching it dies (a container, a remote host).
    independent_runs: ClassVar[bool]
    # Optional, False when absent: Ctrl-C while streaming detaches (the run goes on; `history logs --follow`
    # reattaches) instead of canceling. SSH targets set it: their runs do not depend on this process.
    # interrupt_detaches: ClassVar[bool]

    def submit(self, spec: RunSpec, progress: Progress) -> RunHandle: ...

    def restore(self, state: dict[str, Any]) -> RunHandle: ...


LOCK_OPTIONS = {"python_from_base_image": "--python-from-base-image", "conda_from_pypi": "--conda-from-pypi",
                "relock": "--relock"}


def refuse_lock_options(target: Any, compute: ComputeTarget, options: Mapping[str, Any]) -> None:
    """The conda-lock switches only steer targets that build from a lock; elsewhere they would do nothing."""
    given = [flag for key, flag in LOCK_OPTIONS.items() if options.get(key)]
    if given and not getattr(target, "builds_from_conda_locks", False):
        verb = "applies" if len(given) == 1 else "apply"
        raise UsageError(f"{' and '.join(given)} only {verb} to docker and remotedocker targets, and "
                         f"'{compute.name}' is a {compute.type} target",
                         hint="leave the option out: this target installs no conda lock")


def python_line(facts: Mapping[str, Any]) -> str | None:
    """One header line saying which interpreter runs the script, from a target's environment facts
    (`ensure_environment`); None when the target said nothing about its Python."""
    python = facts.get("python")
    if not python:
        return None
    version = facts.get("python_version")
    if version and version != "unknown" and str(version) not in str(python):
        return f"python: Python {version} at {python}"
    return f"python: {python}"


def check_shared_directory(compute: ComputeTarget, project: Project) -> None:
    """`nativeSharedDirectory` must be (or become) a folder: a file in its way is a configuration error,
    found before a run is recorded. Nothing is created here; runs create the folder when they start."""
    base = compute.native_shared_directory
    if not base:
        return
    folder = Path(os.path.expanduser(base)) / project.name
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{compute.file_name}: nativeSharedDirectory '{base}' cannot hold the folder {folder}: "
                          f"{existing} is not a folder",
                          hint=f"point nativeSharedDirectory at a folder, or move {existing} away")


_REGISTRY: dict[str, str] = {
    "local": "amlexec.targets.local.target:LocalTarget",
    "docker": "amlexec.targets.docker.target:DockerTarget",
    "remote": "amlexec.targets.ssh.remote:RemoteTarget",
    "remotedocker": "amlexec.targets.docker.remotedocker:RemoteDockerTarget",
    "cluster": "amlexec.targets.cluster.target:ClusterTarget",
}


def register(type_name: str, dotted: str) -> None:
    _REGISTRY[type_name] = dotted


def target_for(compute: ComputeTarget, project: Project) -> Any:
    """The target implementation for a `.compute` file, imported only when used."""
    dotted = _REGISTRY.get(compute.type)
    if dotted is None:
        shown = compute.raw_type or compute.type
        raise ConfigError(
            f"{compute.file_name}: targets of type '{shown}' cannot run experiments in this version of amlexec",
            hint=f"available types: {', '.join(sorted(_REGISTRY))}",
        )
    module_name, _, cls_name = dotted.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(compute, project)
