"""Settling a run: collect its files, ingest its metrics, write its final status — whatever goes wrong.

Every step is guarded: a step that fails is reported, the run is recorded Failed with the reason, and the
remaining steps still run. The final `store.finish` is always attempted; when the database itself cannot be
written, the run is left for the next amlexec command to settle (`runs.refresh`), and the caller is told.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..errors import AmlexecError
from ..fsutil import atomic_write
from ..history.report import attachments
from ..history.store import HistoryStore, RunRecord, utc_now
from ..targets.base import CONTROL_LOG, Progress, RunHandle
from .runlog import ControlLog, MetricsRead, last_output_line, read_metrics, release_space

T = TypeVar("T")
SKIPPED_METRICS_PROPERTY = "metrics_skipped_lines"
PENDING_FILE = "outcome.json"  # a settled outcome the database could not take; runs.refresh records it


@dataclass
class Settled:
    """The run's final record, and why amlexec could not keep all of it (None when it could)."""

    record: RunRecord
    failure: str | None = None
    saved: bool = True  # False: the database refused the final record; the next command writes it


@dataclass
class _Steps:
    """Runs the settling steps, each guarded; what fails is noted, never raised."""

    progress: Progress
    log: ControlLog
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # for the control log, written once at the end

    def warn(self, message: str) -> None:
        self.progress(f"warning: {message}")
        self.lines.append(f"warning: {message}")

    def fail(self, message: str) -> None:
        """Not printed here: the caller reports the first failure (as the command's error, or a warning)."""
        self.lines.append(f"failed: {message}")
        self.failures.append(message)

    def guard(self, what: str, step: Callable[[], T], default: T) -> T:
        try:
            return step()
        except AmlexecError as exc:
            self.fail(f"{what} failed: {exc.message}")
        except OSError as exc:
            self.fail(f"{what} failed: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""))
        except Exception as exc:  # a bug in a target's collect: the run must still be settled
            self.fail(f"{what} failed: {exc!r}")
        return default


def finalize(store: HistoryStore, run_id: str, handle: RunHandle | None, *, status: str, exit_code: int | None,
             error: str | None, progress: Progress) -> Settled:
    """Collect outputs, logs and metrics (whatever the status), then record the final status once."""
    run_dir = store.run_dir(run_id)
    release_space(run_dir)  # what the run set aside now makes room for its record on a full disk
    steps = _Steps(never_raising(progress), ControlLog(run_dir / CONTROL_LOG))
    if not store.state_dir.parent.is_dir():
        steps.fail(f"the project folder {store.state_dir.parent} was deleted while run {run_id} was going on; "
                   "nothing of the run could be kept")
        return _record(store, run_id, steps, status=status, exit_code=exit_code, error=error)
    if not store.runs_dir.is_dir():
        steps.fail(f"the run history folder {store.runs_dir} was deleted while run {run_id} was going on; the "
                   "run's logs and metrics, and the files of earlier runs, are lost")
    elif not run_dir.is_dir():
        steps.fail(f"the run's folder {run_dir} was deleted while the run was going on; its logs and metrics "
                   "are lost")
    if not run_dir.is_dir():
        steps.guard("making the run's folder again", lambda: run_dir.mkdir(parents=True, exist_ok=True), None)
    properties: dict[str, Any] = {}
    if handle is not None:
        no_warnings: list[str] = []
        for warning in steps.guard("collecting the run's files", lambda: handle.collect(run_dir), no_warnings):
            steps.warn(warning)
        no_properties: dict[str, Any] = {}
        properties.update(steps.guard("reading the run's properties", handle.properties, no_properties) or {})
    metrics = read_metrics(run_dir)
    _take_metrics(store, run_id, metrics, steps, properties)
    if properties:
        steps.guard("recording the run's properties",
                    lambda: store.update(run_id, properties={**store.get(run_id).properties, **properties}), None)
    if error is None and status == "Failed" and exit_code not in (None, 0):
        last = last_output_line(run_dir)
        error = f"exited with code {exit_code}" + (f": {last}" if last else "")
    return _record(store, run_id, steps, status=status, exit_code=exit_code, error=error)


def _take_metrics(store: HistoryStore, run_id: str, metrics: MetricsRead, steps: _Steps,
                  properties: dict[str, Any]) -> None:
    for problem in metrics.problems:
        steps.warn(problem)
    if metrics.unreadable:
        steps.fail(f"{metrics.unreadable}; the run's metrics were not recorded")
    if metrics.skipped:
        properties[SKIPPED_METRICS_PROPERTY] = metrics.skipped
    if metrics.entries:
        steps.guard("recording the run's metrics", lambda: store.add_metrics(run_id, metrics.entries), None)


def _record(store: HistoryStore, run_id: str, steps: _Steps, *, status: str, exit_code: int | None,
            error: str | None) -> Settled:
    """Write the outcome: Failed with the first reason when a step failed (a Canceled run stays Canceled)."""
    failure = steps.failures[0] if steps.failures else None
    if failure is not None and status != "Canceled":
        status = "Failed"
    error = error or failure
    steps.lines.append(f"finished: {status}, exit code {exit_code}" + (f": {error}" if error else ""))
    try:
        steps.log.write(*steps.lines)
    except AmlexecError as exc:
        failure = failure or exc.message
        error = error or exc.message
    try:
        # the files the run ended with are recorded with its outcome, so that long listings need not read
        # 10,000 run folders (and its stored document, written with it, lists them)
        record = store.finish(run_id, status=status, exit_code=exit_code, error=error,
                              files=attachments(store.run_dir(run_id)))
    except AmlexecError as exc:
        # The database cannot be written (disk full, read-only): the next command settles the run, from the
        # outcome kept beside it when that small file could be written.
        unsaved = _unsaved(store, run_id, status, exit_code, error)
        with contextlib.suppress(AmlexecError):
            atomic_write(store.run_dir(run_id) / PENDING_FILE, json.dumps(
                {"status": status, "exit_code": exit_code, "error": error, "end_time_utc": unsaved.end_time_utc}))
        steps.progress(f"warning: run {run_id} could not be recorded as {status}: {exc.message}; the next "
                       "amlexec command in this project records it once the database can be written")
        return Settled(unsaved, failure or exc.message, saved=False)
    moved = store.database_problem()
    if moved is not None and store.state_dir.parent.is_dir():
        record = _record_again(store, record, moved, steps.progress)
    return Settled(record, failure)


def mark_started(store: HistoryStore, run_id: str) -> None:
    """A Queued run's job has left the batch queue: Running from now, with its start time. Whoever sees it
    first (the supervisor, or a read after the supervisor died) records it; the others find it done."""
    if store.get(run_id).status == "Queued":
        store.update(run_id, status="Running", start_time_utc=utc_now())


def settle_pending(store: HistoryStore, record: RunRecord) -> RunRecord | None:
    """Record the outcome a supervisor could not write (its database was full or read-only), if it left one."""
    path = store.run_dir(record.run_id) / PENDING_FILE
    try:
        outcome = json.loads(path.read_text())
        status, exit_code, error = outcome["status"], outcome.get("exit_code"), outcome.get("error")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    metrics = read_metrics(store.run_dir(record.run_id))
    if metrics.entries and not store.metrics([record.run_id])[record.run_id]:
        store.add_metrics(record.run_id, metrics.entries)
    final = store.finish(record.run_id, status=status, exit_code=exit_code, error=error,
                         end_time_utc=outcome.get("end_time_utc"), files=attachments(store.run_dir(record.run_id)))
    path.unlink(missing_ok=True)
    return final


def _unsaved(store: HistoryStore, run_id: str, status: str, exit_code: int | None, error: str | None) -> RunRecord:
    try:
        known = store.get(run_id)
    except AmlexecError:
        known = RunRecord(run_id=run_id, run_number=0, project="", status=status, created_utc=utc_now())
    return replace(known, status=status, exit_code=exit_code, error=error, end_time_utc=utc_now())


def _record_again(store: HistoryStore, record: RunRecord, problem: str, progress: Progress) -> RunRecord:
    """history.db was deleted (or replaced) during the run: record this run in the database now there."""
    entries = [{"name": name, "value": value} for name, value in store.metrics([record.run_id])[record.run_id]]
    store.close()
    progress(f"warning: the run history database {store.db_path} {problem} while run {record.run_id} was "
             "going on; the run is recorded in the database found there now (runs recorded only in the old "
             "one are not in it)")
    try:
        return store.reinsert(record, entries)
    except AmlexecError as exc:
        progress(f"warning: recording run {record.run_id} again failed: {exc.message}")
        return record


def never_raising(progress: Progress) -> Progress:
    """Progress that cannot fail the settling: a closed terminal (SIGHUP) or a full stderr is ignored."""
    def say(message: str) -> None:
        with contextlib.suppress(OSError, ValueError, AmlexecError):
            progress(message)

    return say
