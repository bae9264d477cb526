"""A batch of a sweep's trials started as one submission of the target's queue (a Slurm job array), for
targets with `Capability.SWEEPS_AS_ARRAYS`.

Each trial is recorded and staged like any (runs/submit.py), then the whole batch goes to the target at once;
each trial is then supervised by `execute` in its own thread, as the one-by-one path does, through
`TaskTarget`: a view of the sweep's target whose environment is the one ensured for the batch and whose
`submit` hands over the task's handle instead of submitting again. So a task is a normal run in every other
way (streaming, Queued then Running, exit code, collect, cancel, reconciliation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from ..config.runconfig import RunConfig
from ..targets.base import CONTROL_LOG, ArrayTarget, Progress, RunHandle, RunSpec, Target
from ..targets.options import RunOptions
from ..targets.types import TargetType
from .runlog import ControlLog


@dataclass
class TaskTarget:
    """One trial's target inside a batch: the sweep's target, with this trial's handle already made."""

    target: Target
    handle: RunHandle
    facts: dict[str, Any]  # what ensure_environment said for the batch (environment, Python)
    kind: TargetType = field(init=False)  # the wrapped target's (a class attribute there)
    independent_runs: bool = field(init=False)

    def __post_init__(self) -> None:
        self.kind, self.independent_runs = self.target.kind, self.target.independent_runs

    def as_target(self) -> Target:
        """For `execute`: a Target in every way it uses (the protocol declares kind as a class attribute)."""
        return cast(Target, self)

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        self.target.check(runconfig, conda_file, spark_file, options)

    def python_facts(self) -> dict[str, object]:
        return self.target.python_facts()

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        ControlLog(spec.run_dir / CONTROL_LOG).write(
            f"environment: {self.facts.get('environment', '?')} (ensured once for the batch)")
        return dict(self.facts)

    def submit(self, spec: RunSpec, progress: Progress) -> RunHandle:
        return self.handle

    def restore(self, state: dict[str, Any]) -> RunHandle:
        return self.target.restore(state)


def submit_batch(target: ArrayTarget, specs: list[RunSpec], *, max_concurrent: int,
                 progress: Progress) -> list[TaskTarget]:
    """The batch's environment ensured once, its runs submitted as one; each trial's TaskTarget, in order."""
    facts = target.ensure_environment(specs[0], lambda _line: None)
    handles = target.submit_array(specs, max_concurrent=max_concurrent, progress=progress)
    return [TaskTarget(target, handle, facts) for handle in handles]
