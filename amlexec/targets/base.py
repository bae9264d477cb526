"""What every compute target provides, and the registry keyed by the `.compute` file's `type`.

A target turns a `RunSpec` into a running script and hands back a `RunHandle`. Everything targets share
(the run record, env vars, Ctrl-C, outputs, the final status) lives in `experiment.py`, not here.
What only some target types can do is a declared capability (`types.Capability`); there are no
"not supported" stubs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from ..config.compute import ComputeTarget
from ..config.runconfig import RunConfig
from ..errors import ConfigError, UsageError
from ..project import Project
from . import registry
from .options import RunOptions
from .types import Capability, TargetType

if TYPE_CHECKING:  # the Docker engine and lock wishes only as types: importing base imports neither
    from ..image.engine import Engine

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
    options: RunOptions = field(default_factory=RunOptions)  # -d, -s and the target's switches

    @property
    def conda_file(self) -> str | None:
        return self.options.conda_file

    @property
    def spark_file(self) -> str | None:
        return self.options.spark_file


@dataclass(frozen=True)
class Running:
    """`poll()`: the script is still going."""


@dataclass(frozen=True)
class Exited:
    """`poll()`: the script ended with `code` (128+N for a signal)."""

    code: int
    # Why the target itself ended the run, when it did (a batch system's time limit, a failed node): the
    # run's recorded `error`, instead of one made from its exit code and last line of output.
    reason: str | None = None


@dataclass(frozen=True)
class Vanished:
    """`poll()`: the run is gone (its process, container or host folder) and its exit code with it."""


Poll = Running | Exited | Vanished
RUNNING, VANISHED = Running(), Vanished()


class RunHandle(Protocol):
    """A started run. `state()` is saved in run history so another amlexec process can `restore` it."""

    def state(self) -> dict[str, Any]: ...

    def stream(self, sink: Sink) -> None:
        """Send live output to `sink` until the script's output ends, saving the driver log as it goes."""

    def wait(self) -> int:
        """Block until the script ends; its exit code (128+N for a signal)."""

    def poll(self) -> Poll:
        """Whether the script is still going, ended (with its code), or vanished."""

    def cancel(self) -> None:
        """Stop the script and everything it started; returns once it is gone."""

    def kill_at_once(self) -> Callable[[], None] | None:
        """What stops the run at once while a cancel is under way (a second Ctrl-C); None when the
        target's cancel already confirms within its grace period and nothing quicker exists."""

    def collect(self, run_dir: Path) -> list[str]:
        """Bring the driver log, metrics and `outputs/` into `run_dir`; warnings to report."""

    def properties(self) -> dict[str, Any]:
        """Facts about the run found while collecting it (a Spark application id, a UI address), merged
        into the run record's `properties` when it is finalized; empty when there are none."""

    def cleanup(self) -> None:
        """Remove what the run left on the target (working folder, container)."""


class ReattachableHandle(RunHandle, Protocol):
    """The handles of a type with `Capability.CAN_REATTACH` (runs that outlive amlexec)."""

    def reattach_stream(self, sink: Sink, offset: int) -> int:
        """Continue the output from byte `offset` of the local driver log until the run ends, appending to
        it, and return the log's new length. `history logs --follow` uses it when the supervisor is gone."""


class QueueingHandle(RunHandle, Protocol):
    """The handles of a type with `Capability.QUEUES_RUNS`: after submit, the run may wait in a batch queue."""

    def when_started(self, started: Callable[[], None]) -> None:
        """Have `started` called once, from `stream`, `wait` or `poll`, when the job is first seen out of the
        queue (running, or already ended); until then the run is recorded Queued."""


class Prepared(Protocol):
    """What `prepare` made or found (an environment image, a head node's environment)."""

    def summary(self) -> dict[str, Any]: ...


class Target(Protocol):
    """A compute target: a `TargetType`'s implementation. What only some types can do is declared in
    `kind.capabilities` and reached through `preparing()` / `with_engine()`, never found with getattr."""

    kind: ClassVar[TargetType]
    # True when a run keeps going if the amlexec process watching it dies (a container, a remote host).
    independent_runs: ClassVar[bool]

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Validate what can be validated before a run is recorded, so a broken dependency file, a stale
        lock or a missing program fails the command without leaving a Failed run."""

    def python_facts(self) -> dict[str, object]:
        """Which Python runs the script, when known without connecting or building (the submit's header
        of a detached run); empty when that is known only once the environment is ready."""

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        """Make the run environment ready before `submit` (building it when `PrepareEnvironment` allows);
        what describes it (which image, which Python, which lock), kept in the run's properties."""

    def submit(self, spec: RunSpec, progress: Progress) -> RunHandle: ...

    def restore(self, state: dict[str, Any]) -> RunHandle: ...


class PreparingTarget(Target, Protocol):
    """A target of a type with `Capability.PREPARES_ENVIRONMENT`: `experiment prepare` works on it."""

    def prepare(self, runconfig: RunConfig, *, progress: Progress, options: RunOptions,
                force: bool = False) -> Prepared:
        """Find or build the run environment ahead of runs (`-d`, offline and the lock switches in
        `options`; the lock switches only reach lock-building types); `force` builds it again."""


class EngineTarget(Target, Protocol):
    """A target of a type with `Capability.HAS_DOCKER_ENGINE`."""

    def engine_for(self, what: str) -> AbstractContextManager[Engine]:
        """The target's Docker engine for work outside a run (`experiment clean -t`)."""


class ArrayTarget(Target, Protocol):
    """A target of a type with `Capability.SWEEPS_AS_ARRAYS`: a sweep's trials go to its queue as one batch
    (a Slurm job array), which runs at most `max_concurrent` of them at once."""

    array_limit: ClassVar[int]  # the most trials one batch holds; a bigger sweep is sent as batches in turn

    def submit_array(self, specs: Sequence[RunSpec], *, max_concurrent: int,
                     progress: Progress) -> Sequence[RunHandle]:
        """Start every spec's run (after `ensure_environment`); their handles, in the order of `specs`.
        Nothing is left running or staged when it raises."""


def preparing(target: Target) -> PreparingTarget | None:
    """The target as one that prepares environments, when its type declares it."""
    return cast(PreparingTarget, target) if target.kind.has(Capability.PREPARES_ENVIRONMENT) else None


def with_engine(target: Target) -> EngineTarget | None:
    """The target as one with a Docker engine, when its type declares it."""
    return cast(EngineTarget, target) if target.kind.has(Capability.HAS_DOCKER_ENGINE) else None


def reattachable(target: Target, handle: RunHandle) -> ReattachableHandle | None:
    """The handle as one that continues a run's output from an offset, when its type declares it."""
    return cast(ReattachableHandle, handle) if target.kind.has(Capability.CAN_REATTACH) else None


def queueing(target: Target, handle: RunHandle) -> QueueingHandle | None:
    """The handle as one whose run may wait in a queue first, when its type declares it."""
    return cast(QueueingHandle, handle) if target.kind.has(Capability.QUEUES_RUNS) else None


def as_array_target(target: Target) -> ArrayTarget | None:
    """The target as one that takes a sweep's trials as one batch, when its type declares it."""
    return cast(ArrayTarget, target) if target.kind.has(Capability.SWEEPS_AS_ARRAYS) else None


def refuse_lock_options(target: Target, compute: ComputeTarget, options: RunOptions) -> None:
    """The conda-lock switches only steer targets that build from a lock; elsewhere they would do nothing."""
    given = options.lock_flags()
    if given and not target.kind.has(Capability.BUILDS_FROM_CONDA_LOCKS):
        verb = "applies" if len(given) == 1 else "apply"
        lockers = registry.spoken(registry.with_capability(Capability.BUILDS_FROM_CONDA_LOCKS))
        raise UsageError(f"{' and '.join(given)} only {verb} to {lockers} targets, and "
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


def target_for(compute: ComputeTarget, project: Project) -> Target:
    """The target implementation for a `.compute` file, imported only when used."""
    from .registry import find, names

    kind = find(compute.type)
    if kind is None:
        shown = compute.raw_type or compute.type
        raise ConfigError(
            f"{compute.file_name}: targets of type '{shown}' cannot run experiments in this version of amlexec",
            hint=f"available types: {', '.join(sorted(names()))}",
        )
    target: Target = kind.load_implementation()(compute, project)
    return target
