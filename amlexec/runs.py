"""Existing runs: bring stale records up to date, cancel, follow logs, describe them."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from .config.compute import ComputeTarget
from .errors import AmlexecError, RunUnreachableError, UsageError
from .experiment import finalize, open_store
from .history.report import metric_values, run_info
from .history.store import HistoryStore, RunRecord
from .project import Project
from .runlog import read_metrics
from .targets.base import DRIVER_LOG, Progress, RunHandle, Sink, target_for
from .transport import process

FOLLOW_POLL_SECONDS = 0.1


def _quiet(_: str) -> None:
    pass


def _target(project: Project, record: RunRecord) -> Any:
    try:
        compute = project.load_compute(record.target or "")
    except AmlexecError:  # the .compute file was detached since; the handle state is enough to restore
        compute = ComputeTarget(name=record.target or "", path=None, type=record.target_type or "local")
    return target_for(compute, project)


def restore_handle(project: Project, record: RunRecord) -> tuple[Any, RunHandle]:
    target = _target(project, record)
    return target, target.restore(record.handle)


def refresh(store: HistoryStore, project: Project, record: RunRecord, progress: Progress = _quiet) -> RunRecord:
    """Settle a run whose supervising amlexec process is gone: collect it if it ended, fail it if orphaned."""
    if record.is_final or process.is_alive(record.supervisor):
        return record
    if not record.handle:
        return store.finish(record.run_id, status="Failed", exit_code=None,
                            error="amlexec stopped before the run started")
    target, handle = restore_handle(project, record)
    try:
        code = handle.poll()
    except RunUnreachableError as exc:  # the host does not answer: say so, and look again next time
        if record.status == "Unreachable":
            return record
        return store.update(record.run_id, status="Unreachable", error=exc.message)
    if code is None:
        if target.independent_runs:
            if record.status == "Unreachable":  # the host answers again and the run is still going
                return store.update(record.run_id, status="Running", error=None)
            return record  # still running on its own; it is collected when it ends
        handle.cancel()
        error = "the amlexec process supervising this run died; the script was stopped"
        return _settle(store, record, handle, "Failed", None, error, progress)
    if code < 0:
        error = "the amlexec process supervising this run died; the script's exit code is unknown"
        return _settle(store, record, handle, "Failed", None, error, progress)
    status = "Canceled" if record.cancel_requested else ("Completed" if code == 0 else "Failed")
    return _settle(store, record, handle, status, code, None, progress)


def _settle(store: HistoryStore, record: RunRecord, handle: RunHandle, status: str, code: int | None,
            error: str | None, progress: Progress) -> RunRecord:
    final = finalize(store, record.run_id, handle, status=status, exit_code=code, error=error, progress=progress)
    handle.cleanup()
    workdir = record.handle.get("workdir")
    if workdir:
        shutil.rmtree(Path(workdir), ignore_errors=True)
    return final


def refresh_active(store: HistoryStore, project: Project) -> None:
    for record in store.active():
        try:
            refresh(store, project, record)
        except AmlexecError:
            continue  # an unreachable host must not break `history list`; `info` reports it


def get_run(project: Project, run_id: str) -> tuple[HistoryStore, RunRecord]:
    store = open_store(project)
    return store, refresh(store, project, store.get(run_id))


def describe(store: HistoryStore, record: RunRecord) -> dict[str, Any]:
    """`history info` JSON for one run; the metrics of a running run come from its live metrics file."""
    return describe_many(store, [record])[0]


def describe_many(store: HistoryStore, records: list[RunRecord]) -> list[dict[str, Any]]:
    stored = store.metrics(r.run_id for r in records)
    recorded = store.attachments(r.run_id for r in records if r.is_final)
    runs_dir = os.fspath(store.runs_dir)  # plain strings: a Path per run is a tenth of a long listing
    infos = []
    for record in records:
        pairs = stored[record.run_id]
        if not record.is_final:
            entries, _ = read_metrics(store.run_dir(record.run_id))
            pairs = [(e["name"], e["value"]) for e in entries]
        infos.append(run_info(record, metric_values(pairs), os.path.join(runs_dir, record.run_id),
                              recorded.get(record.run_id)))
    return infos


def cancel(project: Project, run_id: str, progress: Progress, *, timeout: float = 30.0) -> RunRecord:
    """Stop a run and wait until its record says Canceled."""
    store, record = get_run(project, run_id)
    if record.is_final:
        raise UsageError(f"run {run_id} has already ended ({record.status})",
                         hint="only Preparing, Starting or Running runs can be canceled")
    store.update(run_id, cancel_requested=True)
    if record.handle:
        _, handle = restore_handle(project, record)
        try:
            handle.cancel()
        except AmlexecError:
            # Not canceled (host unreachable...): the run must not be recorded as Canceled when it ends.
            store.update(run_id, cancel_requested=False)
            raise
    elif process.is_alive(record.supervisor):
        # still preparing: stopping the supervisor cancels the run it was about to start
        os.kill(int(record.supervisor["pid"]), signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = store.get(run_id)
        if record.is_final:
            return record
        if not process.is_alive(record.supervisor):
            if record.handle:
                _, handle = restore_handle(project, record)
                return _settle(store, record, handle, "Canceled", 130, "canceled", progress)
            return store.finish(run_id, status="Canceled", exit_code=130, error="canceled")
        time.sleep(0.1)
    return store.finish(run_id, status="Canceled", exit_code=130, error="canceled; the supervisor did not confirm")


def follow(project: Project, run_id: str, sink: Sink, *, follow: bool) -> RunRecord:
    """Print the driver log; with `follow`, keep printing until the run ends."""
    store, record = get_run(project, run_id)
    log_path = store.run_dir(run_id) / DRIVER_LOG
    offset = 0
    while True:
        offset = _emit_from(log_path, offset, sink)
        if not follow or record.is_final:
            return record
        if not process.is_alive(record.supervisor):
            target, handle = restore_handle(project, record)
            reattach = getattr(handle, "reattach_stream", None)
            if target.independent_runs and reattach is not None:
                offset = reattach(sink, offset)  # it appended to the driver log as it printed
            record = refresh(store, project, store.get(run_id))
            _emit_from(log_path, offset, sink)
            return record
        time.sleep(FOLLOW_POLL_SECONDS)
        record = store.get(run_id)


def _emit_from(path: Path, offset: int, sink: Sink) -> int:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return offset
    if data:
        sink("stdout", data)
    return offset + len(data)


def copy_outputs(store: HistoryStore, record: RunRecord, dest: Path) -> int:
    """Copy the run's collected outputs/ into `dest` (created; files of the same name are replaced)."""
    source = store.run_dir(record.run_id) / "outputs"
    count = 0
    for folder, _dirs, files in os.walk(source):
        for name in files:
            src = Path(folder) / name
            target = dest / src.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            count += 1
    return count
