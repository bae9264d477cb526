"""`experiment sweep`: many trials of one script as a parent run with child runs, on any target.

The sweep is checked whole before anything is recorded (its runconfig, target, script, the search space and
every trial's arguments), the run environment is prepared once for all trials, then the parent run is
recorded and its trials driven to the end (sweeploop.py), here or, with `-a`, by a background supervisor
(`python -m amlexec.runs.sweepworker`). What the sweep needs to go on or be resumed is kept beside the
parent's record in `sweep.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import AmlexecError, ExitCode, UsageError
from ..fsutil import atomic_write
from ..history.rows import SWEEP_PROPERTY
from ..history.store import HistoryStore, RunRecord, utc_now
from ..project import Project
from ..scriptpath import printable
from ..targets.base import DRIVER_LOG, Progress, preparing
from ..targets.options import RunOptions
from ..transport import process
from . import sweepspec, sweepstate
from .records import get_run
from .runlog import ControlLog
from .submit import Planned, SubmitRequest, open_store, parent_properties, plan
from .sweeploop import Launch, Loop, Trial
from .sweepview import LiveView

SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class SweepRequest:
    """What `experiment sweep` was asked to run."""

    runconfig: str
    settings: sweepspec.SweepSettings
    script: str | None = None
    args: tuple[str, ...] = ()
    target: str | None = None
    detach: bool = False
    options: RunOptions = field(default_factory=RunOptions)


@dataclass(frozen=True)
class SweepResult:
    parent: RunRecord
    exit_code: int


@dataclass(frozen=True)
class _Sweep:
    """The sweep as kept in the parent's sweep.json: enough to drive it from another process, or resume it."""

    runconfig: str
    script: str | None
    args: tuple[str, ...]
    target: str | None
    options: RunOptions
    settings: dict[str, Any]
    trials: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"runconfig": self.runconfig, "script": self.script, "args": list(self.args), "target": self.target,
                "options": self.options.to_json(), "settings": self.settings, "trials": self.trials}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Sweep:
        return cls(data["runconfig"], data["script"], tuple(data["args"]), data["target"],
                   RunOptions.from_json(data["options"]), data["settings"], list(data["trials"]))

    def submit_request(self) -> SubmitRequest:
        return SubmitRequest(runconfig=self.runconfig, script=self.script, args=self.args, target=self.target,
                             detach=True, options=self.options)


def start(project: Project, req: SweepRequest, *, progress: Progress, announce: Progress) -> SweepResult:
    """Check the whole sweep, prepare its environment once, record the parent, then drive or detach it."""
    settings = req.settings
    sweep = _Sweep(req.runconfig, req.script, req.args or settings.arguments, req.target, req.options,
                   settings.to_json(), sweepspec.sample(settings))
    planned = _check(project, sweep)
    _prepare_once(planned, req.options, progress)
    store = open_store(project)
    parent = _record_parent(project, store, sweep, planned)
    announce(f"RunId: {parent.run_id}")
    progress(f"sweep: {len(sweep.trials)} trials ({settings.sampler}), at most {settings.max_concurrent} at once")
    if req.detach:
        _start_worker(project, store, parent.run_id)
        return SweepResult(parent, 0)
    return _drive(project, store, parent.run_id, sweep, planned, _fresh(sweep), progress=progress)


def resume(project: Project, parent_id: str, *, add_trials: int, max_concurrent: int | None, detach: bool,
           progress: Progress, announce: Progress) -> SweepResult:
    """Rerun the trials of a finished sweep that failed, were canceled or never started; keep the others."""
    store, record = get_run(project, parent_id)
    if not record.is_sweep:
        raise UsageError(f"run {parent_id} is not a sweep", hint="--resume takes the RunId that "
                         "`amlexec experiment sweep` printed; find sweeps with `amlexec history list`")
    if not record.is_final:
        raise UsageError(f"sweep {parent_id} is still {record.status}",
                         hint=f"follow it with `amlexec history logs -r {parent_id} --follow`, or cancel it first")
    sweep = _load(store, parent_id)
    settings = sweepspec.settings_from_json(sweep.settings)
    if max_concurrent is not None:
        settings = sweepspec.with_concurrency(settings, max_concurrent)
    trials = sweep.trials
    if add_trials:
        trials = [*trials, *sweepspec.more_trials(settings, len(trials), add_trials)]
        settings = sweepspec.with_max_trials(settings, len(trials))
    sweep = replace(sweep, settings=settings.to_json(), trials=trials)
    planned = _check(project, sweep)
    _prepare_once(planned, sweep.options, progress)
    kept = _kept_trials(store, parent_id, sweep)
    again = sum(1 for t in kept if t.run_id is None)
    _save(store, parent_id, sweep)
    properties = {**record.properties, SWEEP_PROPERTY: sweep.settings}
    store.update(parent_id, status="Running", exit_code=None, error=None, end_time_utc=None,
                 properties=properties, supervisor=process.identity(os.getpid()))
    announce(f"RunId: {parent_id}")
    progress(f"sweep: resuming {parent_id}: {again} of {len(kept)} trials to run")
    if detach:
        _start_worker(project, store, parent_id)
        return SweepResult(store.get(parent_id), 0)
    return _drive(project, store, parent_id, sweep, planned, kept, progress=progress)


def run_worker(path: Path) -> int:
    """Entry point of the background supervisor of a detached sweep (`-a`)."""
    state = json.loads(path.read_text())
    project = Project(Path(state["project"]))
    store = open_store(project)
    parent_id = state["parent_run_id"]
    store.update(parent_id, supervisor=process.identity(os.getpid()))
    sweep = _load(store, parent_id)
    trials = _kept_trials(store, parent_id, sweep)
    try:
        planned = _check(project, sweep)  # the files may have changed since the sweep started
    except AmlexecError as exc:
        store.finish(parent_id, status="Failed", exit_code=None, error=exc.message)
        raise
    log = ControlLog(store.run_dir(parent_id) / "control_log.txt")
    return _drive(project, store, parent_id, sweep, planned, trials, progress=log.write, interactive=False).exit_code


# -- the pieces ---------------------------------------------------------------------------------------
def _check(project: Project, sweep: _Sweep) -> Planned:
    """Every check a submit makes, once, plus every trial's arguments (a placeholder naming no parameter)."""
    planned = plan(project, sweep.submit_request())
    for params in sweep.trials:
        trial_arguments(planned.rc.argument_vector, sweep.args, params)
    return planned


def trial_arguments(vector: tuple[str, ...], args: tuple[str, ...], params: dict[str, Any]
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ArgumentVector, ARGS) with the trial's values in their `{NAME}` placeholders; a parameter named in
    neither is appended to ARGS as `--NAME VALUE`. Substitution is item by item, so the split is exact."""
    combined = sweepspec.trial_argv([*vector, *args], params)
    return tuple(combined[:len(vector)]), tuple(combined[len(vector):])


def _prepare_once(planned: Planned, options: RunOptions, progress: Progress) -> None:
    """Build the run environment before any trial starts, so concurrent trials never build it twice."""
    preparer = preparing(planned.target)
    if preparer is not None:
        progress("sweep: preparing the run environment once for every trial")
        preparer.prepare(planned.rc, progress=progress, options=options, force=False)


def _record_parent(project: Project, store: HistoryStore, sweep: _Sweep, planned: Planned) -> RunRecord:
    properties: dict[str, Any] = {SWEEP_PROPERTY: sweep.settings,
                                  sweepstate.TRIALS_PROPERTY: sweepstate.counts([], len(sweep.trials))}
    properties.update(parent_properties(store, SubmitRequest(runconfig=sweep.runconfig)))  # a sweep inside a run
    record = store.create_run(
        project=project.name, status="Running", script_name=printable(planned.script) if planned.script else None,
        arguments=[printable(a) for a in sweep.args], runconfig=planned.rc.name, target=planned.compute.name,
        target_type=planned.compute.type, description=planned.rc.description, properties=properties,
        start_time_utc=utc_now(), supervisor=process.identity(os.getpid()))
    _save(store, record.run_id, sweep)
    return record


def _fresh(sweep: _Sweep) -> list[Trial]:
    return [Trial(index=i, params=dict(p)) for i, p in enumerate(sweep.trials)]


def _kept_trials(store: HistoryStore, parent_id: str, sweep: _Sweep) -> list[Trial]:
    """The trials with the Completed ones kept (the latest run of each trial counts), the others to run."""
    metric = sweep.settings.get("objective", {}).get("metric")
    latest: dict[int, RunRecord] = {}
    for child in sorted(store.query(parent=parent_id), key=lambda r: r.run_number):
        index = child.properties.get(sweepstate.INDEX_PROPERTY)
        if isinstance(index, int):
            latest[index] = child
    trials = _fresh(sweep)
    pairs = store.metrics(r.run_id for r in latest.values() if r.status == "Completed")
    for trial in trials:
        done = latest.get(trial.index)
        if done is not None and done.status == "Completed":
            trial.run_id, trial.status = done.run_id, "Completed"
            trial.series = sweepstate.objective_series(pairs[done.run_id], metric) if metric else []
    return trials


def _drive(project: Project, store: HistoryStore, parent_id: str, sweep: _Sweep, planned: Planned,
           trials: list[Trial], *, progress: Progress, interactive: bool = True) -> SweepResult:
    settings = sweepspec.settings_from_json(sweep.settings)
    driver_log = store.run_dir(parent_id) / DRIVER_LOG

    def log(line: str) -> None:
        with open(driver_log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    view = LiveView(settings.metric, out=sys.stderr if interactive else None, log=log)

    def request(trial: Trial) -> SubmitRequest:
        vector, args = trial_arguments(planned.rc.argument_vector, sweep.args, trial.params)
        return SubmitRequest(
            runconfig=sweep.runconfig, script=sweep.script, args=args, target=sweep.target, detach=True,
            options=sweep.options, parent_run_id=parent_id,
            env={**sweepspec.param_env(trial.params), "AMLEXEC_PARENT_RUN_ID": parent_id},
            properties={sweepstate.PARAMETERS_PROPERTY: trial.params, sweepstate.INDEX_PROPERTY: trial.index},
            vector=vector if vector != planned.rc.argument_vector else None)

    def say(line: str) -> None:
        progress(line)
        log(line)

    loop = Loop(project, store, parent_id, trials, Launch(request, planned), settings, view, say)
    record = loop.run()
    failed = sum(1 for t in loop.trials if t.status == "Failed")
    code = int(ExitCode.CANCELED) if record.status == "Canceled" else (1 if failed else 0)
    say(f"sweep {record.status}: {sweepstate.counts_text(record.properties.get(sweepstate.TRIALS_PROPERTY, {}))}")
    best = record.properties.get(sweepstate.BEST_PROPERTY)
    if isinstance(best, dict):
        say(f"best trial: {best['run_id']} {settings.metric}={sweepspec.format_value(best['value'])} "
            f"({' '.join(f'{k}={sweepspec.format_value(v)}' for k, v in best['parameters'].items())})")
    return SweepResult(record, code)


def _save(store: HistoryStore, parent_id: str, sweep: _Sweep) -> None:
    atomic_write(store.run_dir(parent_id) / SWEEP_FILE, json.dumps(sweep.to_json()))


def _load(store: HistoryStore, parent_id: str) -> _Sweep:
    try:
        return _Sweep.from_json(json.loads((store.run_dir(parent_id) / SWEEP_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"sweep {parent_id}: its settings ({SWEEP_FILE} in its run folder) are unreadable ({exc})",
                         hint="start the sweep again with `amlexec experiment sweep`") from exc


def _start_worker(project: Project, store: HistoryStore, parent_id: str) -> None:
    run_dir = store.run_dir(parent_id)
    path = run_dir / "sweep-worker.json"
    atomic_write(path, json.dumps({"project": str(project.root), "parent_run_id": parent_id}))
    with open(run_dir / "worker.log", "ab") as worker_log:
        proc = subprocess.Popen([sys.executable, "-m", "amlexec.runs.sweepworker", str(path)],
                                stdin=subprocess.DEVNULL, stdout=worker_log, stderr=worker_log,
                                start_new_session=True, cwd=project.root)
    store.update(parent_id, supervisor=process.identity(proc.pid))
