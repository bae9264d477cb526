"""Slurm's own record of a job (`scontrol show job -o ID`) and of the cluster (`scontrol show partition -o`,
`scontrol show node -o`), parsed; and what a job's state means for an amlexec run. Pure functions.

There is no `sacct` here on purpose: it needs slurmdbd, which many small clusters do not run. scontrol
knows a job until `MinJobAge` seconds after it ended (300 by default), long enough for a run's supervisor;
a job it has forgotten is reported as such, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=")

# What the run is doing while Slurm has the job in this state.
QUEUED_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
                           "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING"})
# Ended by Slurm itself, not by the script: the run is Failed, with this reason in its `error`.
KILLED_BY_SLURM = {
    "TIMEOUT": "was killed by Slurm at its time limit",
    "OUT_OF_MEMORY": "was killed by Slurm: out of memory",
    "NODE_FAIL": "was ended by Slurm: a node of the job failed",
    "BOOT_FAIL": "was ended by Slurm: a node of the job failed to boot",
    "DEADLINE": "was ended by Slurm: its deadline passed",
    "PREEMPTED": "was ended by Slurm: preempted by another job",
}
ENDED_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", *KILLED_BY_SLURM})


def parse_record(line: str) -> dict[str, str]:
    """One `-o` line of scontrol (`Key=value Key=value ...`); values may hold spaces and '='."""
    found = list(_KEY.finditer(line))
    fields: dict[str, str] = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(line)
        fields[match.group(1)] = line[match.end():end].strip()
    return fields


def parse_records(text: str) -> list[dict[str, str]]:
    return [parse_record(line) for line in text.splitlines() if "=" in line]


@dataclass(frozen=True)
class JobInfo:
    """What scontrol says about one job."""

    job_id: str  # `123`, or `123_4` for task 4 of job array 123
    state: str  # JobState, e.g. PENDING, RUNNING, COMPLETED, TIMEOUT
    reason: str  # Reason, e.g. Resources, Priority, None
    exit_status: int  # the script's exit status (ExitCode's first half)
    signal: int  # the signal that ended it (ExitCode's second half), 0 if none
    partition: str
    nodes: str  # NodeList ('' while pending)
    time_limit: str

    @property
    def queued(self) -> bool:
        return self.state in QUEUED_STATES

    @property
    def ended(self) -> bool:
        return self.state in ENDED_STATES

    @property
    def exit_code(self) -> int:
        """As a shell reports it: the script's status, or 128+N when a signal ended it."""
        if self.exit_status == 0 and self.signal:
            return 128 + self.signal
        return self.exit_status

    @property
    def killed_reason(self) -> str | None:
        """Why Slurm ended the job itself (time limit, memory, a node), or None when the script ended."""
        words = KILLED_BY_SLURM.get(self.state)
        if words is None:
            return None
        if self.state == "TIMEOUT" and self.time_limit:
            return f"{words} ({self.time_limit})"
        return words

    def waiting(self) -> str:
        """A progress line for a job that waits in the queue."""
        why = f" ({self.reason})" if self.reason and self.reason != "None" else ""
        return f"job {self.job_id} is {self.state}{why}"


def parse_job(text: str, job_id: str | int) -> JobInfo | None:
    """The job's record in `scontrol show job -o ID`'s answer; None when scontrol no longer knows it.
    An array task (`123_4`) is the record whose ArrayJobId is 123 and whose ArrayTaskId holds 4: its own
    once it started, the array's pending record (`ArrayTaskId=4-7%2`) before."""
    wanted = str(job_id)
    array, _, task = wanted.partition("_")
    for fields in parse_records(text):
        if not task and fields.get("JobId") == wanted:
            return job_from(fields, wanted)
        if task and fields.get("ArrayJobId") == array and task_in(int(task), fields.get("ArrayTaskId", "")):
            return job_from(fields, wanted)
    return None


def task_in(task: int, spec: str) -> bool:
    """Whether array task `task` is in scontrol's ArrayTaskId: `4`, `4-7`, `1,3,5-7:2`, with an optional `%N`."""
    for part in spec.split("%")[0].split(","):
        span, _, step = part.partition(":")
        low, _, high = span.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (step and not step.isdigit()):
            continue
        first, last, every = int(low), int(high or low), int(step or 1)
        if first <= task <= last and (task - first) % max(every, 1) == 0:
            return True
    return False


def job_from(fields: dict[str, str], job_id: str | None = None) -> JobInfo:
    status, _, signal = fields.get("ExitCode", "0:0").partition(":")
    return JobInfo(job_id=job_id or fields["JobId"], state=fields.get("JobState", "UNKNOWN").split()[0],
                   reason=fields.get("Reason", ""), exit_status=_int(status), signal=_int(signal),
                   partition=fields.get("Partition", ""), nodes=_null(fields.get("NodeList", "")),
                   time_limit=fields.get("TimeLimit", ""))


def forgotten(stderr: str) -> bool:
    """scontrol's answer for a job id it does not know (never existed, or ended more than MinJobAge ago)."""
    return "Invalid job id" in stderr


@dataclass(frozen=True)
class Partition:
    name: str
    state: str
    default: bool
    total_nodes: int
    total_cpus: int
    max_nodes: int | None  # None: unlimited
    max_time: str
    nodes: str


def parse_partitions(text: str) -> list[Partition]:
    out = []
    for f in parse_records(text):
        if "PartitionName" not in f:
            continue
        max_nodes = f.get("MaxNodes", "UNLIMITED")
        out.append(Partition(name=f["PartitionName"], state=f.get("State", ""), default=f.get("Default") == "YES",
                             total_nodes=_int(f.get("TotalNodes", "0")), total_cpus=_int(f.get("TotalCPUs", "0")),
                             max_nodes=int(max_nodes) if max_nodes.isdigit() else None,
                             max_time=f.get("MaxTime", ""), nodes=_null(f.get("Nodes", ""))))
    return out


@dataclass(frozen=True)
class Node:
    name: str
    state: str  # idle | allocated | mixed | down | drained | draining | other words of Slurm's, lowercased
    slurm_state: str  # as scontrol says it, e.g. IDLE+DRAIN
    cpus: int
    cpus_allocated: int
    gpus: int
    partitions: tuple[str, ...]
    reason: str


def node_state(state: str) -> str:
    """A node's state in a word: down and drained first (a down node's base state is often IDLE)."""
    words = state.upper().replace("*", "").split("+")
    if "DOWN" in words or "NOT_RESPONDING" in words:
        return "down"
    if "DRAIN" in words:
        return "drained" if words[0] in ("IDLE", "DOWN") else "draining"
    if "DRAINED" in words:
        return "drained"
    return words[0].lower() if words and words[0] else "unknown"


def parse_nodes(text: str) -> list[Node]:
    out = []
    for f in parse_records(text):
        if "NodeName" not in f:
            continue
        state = f.get("State", "")
        out.append(Node(name=f["NodeName"], state=node_state(state), slurm_state=state,
                        cpus=_int(f.get("CPUTot", "0")), cpus_allocated=_int(f.get("CPUAlloc", "0")),
                        gpus=gres_gpus(f.get("Gres", "")),
                        partitions=tuple(p for p in f.get("Partitions", "").split(",") if p),
                        reason=_null(f.get("Reason", ""))))
    return out


def gres_gpus(gres: str) -> int:
    """GPUs in a node's Gres (`gpu:4`, `gpu:a100:2(S:0-1)`, `gpu:2,shard:8`); 0 for `(null)`."""
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and len(parts) >= 2 and parts[-1].isdigit():
            total += int(parts[-1])
    return total


def _int(text: str) -> int:
    digits = text.strip().split("(")[0]
    return int(digits) if digits.isdigit() else 0


def _null(text: str) -> str:
    return "" if text in ("(null)", "None") else text
