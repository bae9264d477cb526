"""A slurm target's settings, read from its `.compute` file (the keys land in `ComputeTarget.extra`).

Every value is checked here, before a run is recorded, with the file and key in the message: a value that
sbatch would misread (a newline in an #SBATCH line, a node count of zero) never reaches the cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...config.compute import ComputeTarget
from ...errors import ConfigError
from . import DEFAULT_SHARED_DIRECTORY

_WORD = re.compile(r"[A-Za-z0-9_.:+-]+\Z")  # a partition, account or QOS name
_MEMORY = re.compile(r"\d+[KMGT]?\Z", re.IGNORECASE)
_TIME = re.compile(r"(\d+-)?\d+(:\d+){0,2}\Z|(\d+-\d+)\Z|UNLIMITED\Z|INFINITE\Z", re.IGNORECASE)
# A path sbatch writes into #SBATCH --output and the script's quoted lines: no blanks, no '%' (a pattern
# character for --output).
_PATH = re.compile(r"[^\s%]+\Z")


@dataclass(frozen=True)
class SlurmSettings:
    """What the batch script asks Slurm for, and where the run's files live on the cluster."""

    partition: str | None = None
    node_count: int = 1
    tasks_per_node: int | None = None
    cpus_per_task: int | None = None
    gpus_per_node: int | None = None
    memory: str | None = None
    time_limit: str | None = None
    account: str | None = None
    qos: str | None = None
    shared_directory: str = DEFAULT_SHARED_DIRECTORY
    sbatch_options: tuple[str, ...] = ()

    @property
    def world_size(self) -> int:
        return self.node_count * (self.tasks_per_node or 1)

    @property
    def distributed(self) -> bool:
        """More than one task: the script runs once per task through srun, with ranks."""
        return self.world_size > 1


def slurm_settings(compute: ComputeTarget) -> SlurmSettings:
    """The settings of a slurm `.compute` file; ConfigError naming the file and key for a bad value."""
    extra = compute.extra
    where = compute.file_name

    def number(key: str, *, minimum: int) -> int | None:
        value = extra.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}", hint=f"e.g. {key}: 2")
        if int(value) < minimum:
            raise ConfigError(f"{where}: {key} must be at least {minimum}, not {value}", hint=f"e.g. {key}: 2")
        return int(value)

    def text(key: str, pattern: re.Pattern[str], example: str) -> str | None:
        value = extra.get(key)
        if value is None:
            return None
        value = str(value)
        if not pattern.match(value):
            raise ConfigError(f"{where}: {key} {value!r} is not a value sbatch takes", hint=f"e.g. {key}: {example}")
        return value

    shared = text("sharedDirectory", _PATH, "/shared/$USER/amlexec") or DEFAULT_SHARED_DIRECTORY
    return SlurmSettings(
        partition=text("partition", _WORD, "gpu"), node_count=number("nodeCount", minimum=1) or 1,
        tasks_per_node=number("tasksPerNode", minimum=1), cpus_per_task=number("cpusPerTask", minimum=1),
        gpus_per_node=number("gpusPerNode", minimum=0), memory=text("memory", _MEMORY, "4G"),
        time_limit=text("timeLimit", _TIME, "1:00:00"), account=text("account", _WORD, "research"),
        qos=text("qos", _WORD, "normal"), shared_directory=shared, sbatch_options=_lines(extra, where))


def _lines(extra: dict[str, Any], where: str) -> tuple[str, ...]:
    value = extra.get("sbatchOptions")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: sbatchOptions must be a list of sbatch options",
                          hint="e.g. sbatchOptions: ['--constraint=avx2', '--exclusive']")
    for line in value:
        if "\n" in line or "\r" in line or not line.strip():
            raise ConfigError(f"{where}: sbatchOptions holds {line!r}, which is not one #SBATCH line",
                              hint="give one option per list item, without newlines")
        if not line.lstrip().startswith("-"):
            raise ConfigError(f"{where}: sbatchOptions item {line!r} is not an sbatch option",
                              hint="options start with '-', e.g. '--exclusive'")
    return tuple(line.strip() for line in value)
