"""Driving a sweep to its end: start trials up to the concurrency limit, watch them, stop poor ones early,
keep the parent record up to date, and cancel everything on Ctrl-C or `experiment cancel -r PARENT`.

Each trial is an ordinary run, recorded and staged by runs/submit.py and supervised by `execute` (the same
code as any submit) in a thread of this process: so a trial is a normal run in every way (logs, outputs,
metrics, exit code, reconciliation when its supervisor dies), trials of any target run side by side, and the
sweep costs no interpreter start per trial. Signals reach the main thread only: this loop turns them into a
cancel of every trial.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..errors import AmlexecError
from ..fsutil import atomic_write
from ..history.store import HistoryStore, RunRecord
from ..interrupts import Interrupts
from ..project import Project
from ..targets.base import (
    CONTROL_LOG,
    METRICS_FILE,
    ArrayTarget,
    Progress,
    RunSpec,
    Target,
    as_array_target,
    target_for,
)
from . import earlystop, sweeparray, sweepstate
from .records import restore_handle
from .runlog import ControlLog, read_metrics
from .submit import Planned, SubmitRequest, abandon, execute, open_store, submit
from .supervise import as_error, reason
from .sweepspec import SweepSettings

POLL_SECONDS = 0.05
METRICS_EVERY_SECONDS = 0.5  # how often running trials' live metrics are read (early termination)
CANCEL_SECONDS = 60.0  # a trial's target confirms a cancel within its grace period (docker: 10 s)


@dataclass
class Trial:
    """One trial of the sweep and what became of it."""

    index: int
    params: dict[str, Any]
    run_id: str | None = None
    status: str = "NotStarted"
    series: list[float] = field(default_factory=list)  # the objective as logged so far
    early: bool = False  # stopped by the early-termination policy
    error: str | None = None
    thread: threading.Thread | None = None  # its supervisor

    @property
    def active(self) -> bool:
        return self.run_id is not None and self.status not in ("Completed", "Failed", "Canceled")


@dataclass(frozen=True)
class Launch:
    """How each trial is submitted: the request with its parameters filled in, and the checks made once."""

    request: Callable[[Trial], SubmitRequest]
    planned: Planned


@dataclass
class Loop:
    project: Project
    store: HistoryStore
    parent_id: str
    trials: list[Trial]
    launch: Launch
    settings: SweepSettings
    show: Callable[[list[Trial]], None]  # the live view
    say: Progress
    canceled: bool = False
    _metrics_at: float = 0.0
    _best: sweepstate.Best | None = None
    _summary: str = ""
    _ended: threading.Event = field(default_factory=threading.Event)

    # -- the loop -------------------------------------------------------------------------------------
    def run(self) -> RunRecord:
        with Interrupts() as signals:
            try:
                self._drive()
            except KeyboardInterrupt:
                self.canceled = True
                self.say("canceling the sweep and its running trials...")
                signals.settling()
                self._cancel_all()
            finally:
                signals.settling()
        return self._finish()

    def _drive(self) -> None:
        limit = self.settings.max_concurrent
        while True:
            if self.store.get(self.parent_id).cancel_requested:  # `experiment cancel -r PARENT`
                raise KeyboardInterrupt
            waiting = [t for t in self.trials if t.run_id is None and t.status == "NotStarted"]
            running = [t for t in self.trials if t.active]
            batches = as_array_target(self.launch.planned.target)
            if batches is not None:  # the target's queue keeps to the limit; a batch at a time
                if waiting and not running:
                    self._start_batch(batches, waiting[:batches.array_limit])
            else:
                for trial in waiting[:max(limit - len(running), 0)]:
                    self._start(trial)
            self._poll()
            self._early_stop()
            self._publish()
            if not any(t.active or (t.run_id is None and t.status == "NotStarted") for t in self.trials):
                return
            # A trial's thread sets `_ended` as it finishes, so the next trial starts at once, not a poll later.
            self._ended.wait(POLL_SECONDS)
            self._ended.clear()

    def _start(self, trial: Trial) -> None:
        self._record(trial, lambda spec: self._thread(trial, spec, None))

    def _record(self, trial: Trial, then: Callable[[RunSpec], None]) -> None:
        """Record and stage the trial's run, then hand its spec to `then` (which starts its supervisor)."""
        def quiet(_line: str) -> None:
            pass

        try:
            result = submit(self.project, self.launch.request(trial), sink=lambda _s, _b: None, progress=quiet,
                            announce=quiet, planned=self.launch.planned, supervise=lambda _store, spec: then(spec))
        except AmlexecError as exc:  # this trial could not start (its record, if any, is settled Failed)
            trial.status, trial.error = "Failed", exc.message
            self.say(f"warning: trial {trial.index + 1} could not start: {exc.message}")
            return
        trial.run_id, trial.status = result.run_id, "Starting"

    def _start_batch(self, target: ArrayTarget, batch: list[Trial]) -> None:
        """Record and stage every trial of the batch, then submit them to the target's queue as one (a Slurm
        job array); a batch that cannot be submitted settles each of its trials Failed with the reason."""
        staged: list[tuple[Trial, RunSpec]] = []
        for trial in batch:
            self._record(trial, partial(_keep, staged, trial))
        if not staged:
            return
        try:
            tasks = sweeparray.submit_batch(target, [spec for _, spec in staged],
                                            max_concurrent=self.settings.max_concurrent, progress=self.say)
        except (Exception, KeyboardInterrupt) as exc:
            for trial, spec in staged:
                raised = abandon(self.store, spec.run_id, exc, self.say)
                trial.status, trial.error = "Failed", reason(raised)
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.say(f"warning: {len(staged)} trials could not start: {reason(as_error(exc))}")
            return
        for (trial, spec), task in zip(staged, tasks, strict=True):
            self._thread(trial, spec, task.as_target())

    def _thread(self, trial: Trial, spec: RunSpec, target: Target | None) -> None:
        trial.thread = threading.Thread(target=self._supervise, args=(spec, target), daemon=True,
                                        name=f"amlexec-trial-{trial.index + 1}")
        trial.thread.start()

    def _supervise(self, spec: RunSpec, target: Target | None) -> None:
        """A trial's thread: the run supervised to its end as any submit's, with its own store (SQLite
        connections stay in their thread) and its own target object (engine and SSH clients too), or, in a
        batch, the task's target (its handle made by the batch's submit, with its own connection)."""
        store = open_store(self.project)
        log = ControlLog(spec.run_dir / CONTROL_LOG)
        try:
            execute(store, spec, target or target_for(spec.compute, self.project), sink=lambda _s, _b: None,
                    progress=log.write)
        except BaseException:  # settled by execute: its reason is in the trial's record
            pass
        finally:
            store.close()
            self._ended.set()

    def _poll(self) -> None:
        for trial in self.trials:
            if not trial.active or trial.run_id is None:
                continue
            record = self.store.get(trial.run_id)
            trial.status = record.status
            if record.is_final:
                pairs = self.store.metrics([record.run_id])[record.run_id]
                trial.series = sweepstate.objective_series(pairs, self.settings.metric) if self.settings.metric \
                    else []
                if trial.early and record.error != sweepstate.EARLY_TERMINATED:
                    self.store.update(record.run_id, error=sweepstate.EARLY_TERMINATED)

    # -- early termination ----------------------------------------------------------------------------
    def _early_stop(self) -> None:
        policy, metric = self.settings.early_termination, self.settings.metric
        now = time.monotonic()
        if metric is None or now - self._metrics_at < METRICS_EVERY_SECONDS:
            return
        self._metrics_at = now
        for trial in self.trials:
            if trial.active and trial.run_id is not None and trial.status == "Running":
                entries = read_metrics(self.store.run_dir(trial.run_id)).entries
                trial.series = sweepstate.objective_series(((e["name"], e["value"]) for e in entries), metric)
        if policy is None:
            return
        for trial in self.trials:
            if not trial.active or trial.early or trial.status != "Running":
                continue
            others = [t.series for t in self.trials if t is not trial and t.series]
            if earlystop.should_stop(trial.series, others, goal=self.settings.goal, delay=policy.delay,
                                     interval=policy.interval):
                self._stop_early(trial)

    def _stop_early(self, trial: Trial) -> None:
        assert trial.run_id is not None
        trial.early = True
        self.say(f"trial {trial.index + 1} ({_params_text(trial.params)}) is below the median at step "
                 f"{len(trial.series)}: stopping it ({sweepstate.EARLY_TERMINATED})")
        self._cancel(trial)
        self.store.update(trial.run_id, error=sweepstate.EARLY_TERMINATED)

    # -- cancel and finish ----------------------------------------------------------------------------
    def _cancel_all(self) -> None:
        going = [t for t in self.trials if t.active]
        for trial in going:
            assert trial.run_id is not None
            self.store.update(trial.run_id, cancel_requested=True)  # all at once, then each stopped
        for trial in going:
            self._cancel(trial)

    def _cancel(self, trial: Trial) -> None:
        """Stop a trial and wait for its thread to record it Canceled. One still preparing is stopped as soon
        as its script starts (its thread sees the request when the script ends, too)."""
        assert trial.run_id is not None
        self.store.update(trial.run_id, cancel_requested=True)
        stopped = False
        deadline = time.monotonic() + CANCEL_SECONDS
        while trial.thread is not None and trial.thread.is_alive() and time.monotonic() < deadline:
            record = self.store.get(trial.run_id)
            if not stopped and record.handle:
                try:
                    restore_handle(self.project, record)[1].cancel()
                except AmlexecError as exc:
                    self.say(f"warning: stopping trial {trial.index + 1} ({trial.run_id}) failed: {exc.message}")
                stopped = True
            trial.thread.join(POLL_SECONDS)
        trial.status = self.store.get(trial.run_id).status

    def _publish(self) -> None:
        """The parent's trial counts and best trial, written when they change; the live view redrawn."""
        self.show(self.trials)
        summary = json.dumps([(t.run_id, t.status, t.series[-1:] if t.series else None) for t in self.trials])
        if summary == self._summary:
            return
        self._summary = summary
        properties = dict(self.store.get(self.parent_id).properties)
        properties[sweepstate.TRIALS_PROPERTY] = sweepstate.counts(
            (t.status for t in self.trials if t.status != "NotStarted"), len(self.trials))
        best = self._best_trial()
        if best is not None:
            properties[sweepstate.BEST_PROPERTY] = best.to_json()
        self.store.update(self.parent_id, properties=properties)
        if best is not None and best != self._best and self.settings.metric:
            self._best = best
            _write_best(self.store, self.parent_id, self.settings.metric, best.value)

    def _best_trial(self) -> sweepstate.Best | None:
        done = [t for t in self.trials if t.status == "Completed" and t.run_id is not None]
        records = {r.run_id: r for r in (self.store.get(t.run_id) for t in done if t.run_id)}
        return sweepstate.best_of(((records[t.run_id], sweepstate.final_value(t.series))
                                   for t in done if t.run_id in records), self.settings.goal)

    def _finish(self) -> RunRecord:
        self._poll()
        self._publish()
        finals = [t.status for t in self.trials if t.run_id is not None or t.status == "Failed"]
        status, error = sweepstate.outcome(finals, canceled=self.canceled)
        metric = self.settings.metric
        if metric and not any(t.series for t in self.trials) and not self.canceled:
            self.say(f"warning: no trial logged the objective metric '{metric}', so the sweep has no best trial")
        entries = read_metrics(self.store.run_dir(self.parent_id)).entries
        if entries:
            self.store.add_metrics(self.parent_id, entries)
        return self.store.finish(self.parent_id, status=status, exit_code=130 if self.canceled else 0,
                                 error=error)


def _keep(staged: list[tuple[Trial, RunSpec]], trial: Trial, spec: RunSpec) -> None:
    staged.append((trial, spec))


def _write_best(store: HistoryStore, run_id: str, name: str, value: float) -> None:
    """The parent's one metric: the objective's best value so far, under the objective's name, so that
    `history list --query "max_by([?Accuracy], &Accuracy)"` treats a sweep like any run (one value, not a
    list of values). Rewritten whole: readers see the old value or the new one."""
    atomic_write(store.run_dir(run_id) / METRICS_FILE, json.dumps({"name": name, "value": value}) + "\n")


def _params_text(params: dict[str, Any]) -> str:
    from .sweepspec import format_value

    return " ".join(f"{name}={format_value(value)}" for name, value in params.items())
