"""What a target type is: one frozen `TargetType` descriptor per type, and the capabilities it may declare.

A descriptor is plain data plus dotted names of code imported on use, so the registry (`registry.py`),
`computetarget attach`'s commands and the config loader can read every type without importing Docker,
paramiko or a target's implementation. Each family's subpackage defines its descriptors in its
`__init__.py`; `registry.py` lists them, one line per type.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Capability(enum.Enum):
    """Optional abilities a target type declares; code asks `kind.has(...)`, never `getattr`."""

    PREPARES_ENVIRONMENT = "prepares_environment"  # `experiment prepare` builds its run environment
    BUILDS_FROM_CONDA_LOCKS = "builds_from_conda_locks"  # the conda-lock switches (LOCK_OPTIONS) steer it
    HAS_DOCKER_ENGINE = "has_docker_engine"  # `engine_for(what)` gives its Docker engine (`experiment clean`)
    DETACHES_ON_INTERRUPT = "detaches_on_interrupt"  # Ctrl-C while streaming leaves the run going on
    CAN_REATTACH = "can_reattach"  # its handles continue a run's output from an offset (`logs --follow`)
    QUEUES_RUNS = "queues_runs"  # a submitted run may wait in a batch queue first: recorded Queued till it runs
    SWEEPS_AS_ARRAYS = "sweeps_as_arrays"  # `submit_array` starts a sweep's trials as one batch of the queue


@dataclass(frozen=True)
class AttachOption:
    """One option of `computetarget attach TYPE`: its flags and help as the CLI shows them, the
    `AttachRequest` field it fills and, when it writes one, the `ComputeTarget` field (`.compute` key)."""

    param: str  # the AttachRequest field (and the typer parameter's name)
    flags: tuple[str, ...]
    help: str
    value: type = str  # str: takes a value; int: a whole number; bool: a switch; list: repeatable, a list
    required: bool = False
    writes: str | None = None  # the ComputeTarget field set from it (None: steers attach only)
    key: str | None = None  # the .compute key `writes` is saved as, for docs and tests
    default: Any = None  # what `writes` gets when the option is left out


@dataclass(frozen=True)
class TargetType:
    """Everything the rest of amlexec needs to know about one target type."""

    name: str  # the `.compute` file's `type`, and `computetarget attach NAME`
    summary: str  # the attach command's help
    implementation: str  # "module:Class" of the Target, imported only when a run or prepare needs it
    aliases: tuple[str, ...] = ()  # other spellings of `type` that load as this type (Workbench's)
    over_ssh: bool = False  # reached over SSH: attach takes the connection options and checks the host
    attach_options: tuple[AttachOption, ...] = ()  # in the order `attach NAME --help` lists them
    compute_values: Mapping[str, Any] = field(default_factory=dict)  # ComputeTarget fields attach always sets
    default_username: str | None = None  # the SSH user when attach gets no -u
    host_check: str | None = None  # "module:function(compute, host) -> note", run by attach over SSH
    # "module:function(compute) -> dict": the target's own state for `computetarget show NAME --status`
    # (a batch cluster's partitions and nodes); None: the type has no state to show beyond its settings.
    status: str | None = None
    attach_note: Callable[[str], str | None] | None = None  # a note about the address, e.g. HDInsight's -ssh
    capabilities: frozenset[Capability] = frozenset()
    default_framework: str = "Python"  # the Framework of the run configuration attach writes

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def load_implementation(self) -> Any:
        """The Target class, imported now."""
        return _load(self.implementation)

    def load_host_check(self) -> Callable[..., str] | None:
        return _load(self.host_check) if self.host_check else None

    def load_status(self) -> Callable[..., dict[str, Any]] | None:
        return _load(self.status) if self.status else None


def _load(dotted: str) -> Any:
    module_name, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


SHARE_DIRECTORY = "~/.azureml/share/"  # Workbench's nativeSharedDirectory for new targets

FORCE = AttachOption("force", ("--force",), "Replace an existing target of that name.", value=bool)
"""Every attach command takes it; each type's descriptor says where it stands in the command's help."""
