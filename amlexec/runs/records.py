"""Existing runs: bring stale records up to date, cancel, follow logs, describe them."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import snapshot as snapshots
from ..config.compute import ComputeTarget
from ..errors import AmlexecError, RunUnreachableError, StorageError, UsageError
from ..history.report import metric_values, run_info
from ..history.rows import PARENT_PROPERTY
from ..history.store import HistoryStore, RunRecord, StoredDoc
from ..notices import warn
from ..project import Project
from ..targets import registry
from ..targets.base import (
    DRIVER_LOG,
    Progress,
    RunHandle,
    Running,
    Sink,
    Target,
    Vanished,
    queueing,
    reattachable,
    target_for,
)
from ..transport import process
from .runlog import read_metrics, release_space
from .settle import finalize, mark_started, settle_pending
from .submit import open_store

if TYPE_CHECKING:
    from ..treecopy import TreeCopy

FOLLOW_POLL_SECONDS = 0.1


def _quiet(_: str) -> None:
    pass


def _target(project: Project, record: RunRecord) -> Target:
    try:
        compute = project.load_compute(record.target or "")
    except AmlexecError:  # the .compute file was detached since; the handle state is enough to restore
        compute = ComputeTarget(name=record.target or "", path=None, type=record.target_type or registry.FALLBACK.name)
    return target_for(compute, project)


def restore_handle(project: Project, record: RunRecord) -> tuple[Target, RunHandle]:
    target = _target(project, record)
    try:
        return target, target.restore(record.handle)
    except (KeyError, TypeError, ValueError) as exc:  # a damaged `handle` column (rows.py warned about it)
        raise StorageError(f"run {record.run_id}: its handle in run history is unreadable ({exc!r})",
                           hint="the run cannot be followed or canceled any more; its record is settled") from exc


def refresh(store: HistoryStore, project: Project, record: RunRecord, progress: Progress = _quiet) -> RunRecord:
    """Settle a run whose supervising amlexec process is gone: collect it if it ended, fail it if orphaned."""
    if record.is_final or process.is_alive(record.supervisor):
        return record
    pending = settle_pending(store, record)
    if pending is not None:
        return pending
    if record.is_sweep:  # its trials are runs of their own, each settled by its own supervisor
        return store.finish(record.run_id, status="Failed", exit_code=None,
                            error="the amlexec process driving this sweep died; its running trials go on, and "
                            f"`amlexec experiment sweep --resume {record.run_id}` runs the rest")
    if not record.handle:
        snapshots.remove_copy(store.work_dir(record.run_id))  # a copy cut short by kill -9
        release_space(store.run_dir(record.run_id))
        return store.finish(record.run_id, status="Failed", exit_code=None,
                            error="amlexec stopped before the run started")
    try:
        target, handle = restore_handle(project, record)
    except StorageError as exc:
        snapshots.remove_copy(store.work_dir(record.run_id))
        release_space(store.run_dir(record.run_id))
        return store.finish(record.run_id, status="Failed", exit_code=None, error=exc.message)
    waiting = queueing(target, handle) if record.status == "Queued" else None
    if waiting is not None:  # the poll below tells it when the job has left the queue meanwhile
        waiting.when_started(lambda: mark_started(store, record.run_id))
    try:
        status = handle.poll()
    except RunUnreachableError as exc:  # the host does not answer: say so, and look again next time
        if record.status == "Unreachable":
            return record
        return store.update(record.run_id, status="Unreachable", error=exc.message)
    if isinstance(status, Running):
        if target.independent_runs:
            if record.status == "Unreachable":  # the host answers again and the run is still going
                return store.update(record.run_id, status="Running", error=None)
            return store.get(record.run_id)  # still going on its own (now Running, if it left the queue)
        handle.cancel()
        error = "the amlexec process supervising this run died; the script was stopped"
        return _settle(store, record, handle, "Failed", None, error, progress)
    if isinstance(status, Vanished):
        error = "the amlexec process supervising this run died; the script's exit code is unknown"
        return _settle(store, record, handle, "Failed", None, error, progress)
    code = status.code
    outcome = "Canceled" if record.cancel_requested else ("Completed" if code == 0 and not status.reason else "Failed")
    return _settle(store, record, handle, outcome, code, None if outcome == "Canceled" else status.reason, progress)


def _settle(store: HistoryStore, record: RunRecord, handle: RunHandle, status: str, code: int | None,
            error: str | None, progress: Progress) -> RunRecord:
    settled = finalize(store, record.run_id, handle, status=status, exit_code=code, error=error, progress=progress)
    if settled.failure is not None:
        warn(f"run {record.run_id}: {settled.failure}")
    try:
        handle.cleanup()
    except AmlexecError as exc:  # best effort: the run is recorded
        progress(f"warning: cleaning up after run {record.run_id} failed: {exc.message}")
    workdir = record.handle.get("workdir")
    if workdir:
        snapshots.remove_copy(Path(workdir))
    return settled.record


def refresh_active(store: HistoryStore, project: Project) -> None:
    """Bring every unfinished run up to date; one that cannot be is named in a warning, never an error."""
    for record in store.active():
        try:
            refresh(store, project, record)
        except AmlexecError as exc:
            if not isinstance(exc, RunUnreachableError):  # unreachable hosts: `info` reports them
                warn(f"run {record.run_id} could not be brought up to date: {exc.message}")
        except Exception as exc:  # one damaged run must not break `history list` for the others
            warn(f"run {record.run_id} could not be brought up to date: {exc!r}")


def get_run(project: Project, run_id: str) -> tuple[HistoryStore, RunRecord]:
    store = open_store(project)
    return store, refresh(store, project, store.get(run_id))


def describe(store: HistoryStore, record: RunRecord) -> dict[str, Any]:
    """`history info` JSON for one run; the metrics of a running run come from its live metrics file."""
    return describe_many(store, [record])[0]


def describe_many(store: HistoryStore, records: list[RunRecord]) -> list[dict[str, Any]]:
    return [info for info in describe_listing(store, records) if isinstance(info, dict)]


def describe_listing(store: HistoryStore, entries: Sequence[RunRecord | StoredDoc]) -> list[dict[str, Any] | StoredDoc]:
    """`history info` JSON of each run, in order; a stored document (store.listing) stands for itself."""
    records = [e for e in entries if isinstance(e, RunRecord)]
    stored = store.metrics(r.run_id for r in records)
    recorded = store.attachments(r.run_id for r in records if r.is_final)
    # plain strings and one read of the runs folder, not a Path and a stat per run: a tenth of a long listing
    runs_dir = os.fspath(store.runs_dir)
    present = _run_folders(runs_dir)
    infos: list[dict[str, Any] | StoredDoc] = []
    for entry in entries:
        if entry.run_id not in present:
            warn(f"run {entry.run_id}: its folder {os.path.join(runs_dir, entry.run_id)} is missing, so its logs "
                 "and outputs are gone")
        if isinstance(entry, StoredDoc):
            infos.append(entry)
            continue
        run_dir = os.path.join(runs_dir, entry.run_id)
        pairs = stored[entry.run_id]
        if not entry.is_final:
            pairs = [(e["name"], e["value"]) for e in read_metrics(Path(run_dir)).entries]
        infos.append(run_info(entry, metric_values(pairs), run_dir, recorded.get(entry.run_id)))
    return infos


def _run_folders(runs_dir: str) -> set[str]:
    try:
        with os.scandir(runs_dir) as entries:
            return {entry.name for entry in entries if entry.is_dir()}
    except OSError:
        return set()


def _shares_parents_supervisor(store: HistoryStore, record: RunRecord) -> bool:
    parent = record.properties.get(PARENT_PROPERTY)
    if not isinstance(parent, str) or not record.supervisor:
        return False
    try:
        return store.get(parent).supervisor == record.supervisor
    except AmlexecError:
        return False


def cancel(project: Project, run_id: str, progress: Progress, *, timeout: float = 30.0) -> RunRecord:
    """Stop a run and wait until its record says Canceled."""
    store, record = get_run(project, run_id)
    if record.is_final:
        raise UsageError(f"run {run_id} has already ended ({record.status})",
                         hint="only Preparing, Starting, Queued or Running runs can be canceled")
    store.update(run_id, cancel_requested=True)
    if record.handle:
        _, handle = restore_handle(project, record)
        try:
            handle.cancel()
        except AmlexecError:
            # Not canceled (host unreachable...): the run must not be recorded as Canceled when it ends.
            store.update(run_id, cancel_requested=False)
            raise
    elif process.is_alive(record.supervisor) and not _shares_parents_supervisor(store, record):
        # still preparing: stopping the supervisor cancels the run it was about to start (a sweep's trial
        # sees the request itself, since signalling the sweep would cancel every trial: supervise.py)
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
            reattach = reattachable(target, handle)
            if target.independent_runs and reattach is not None:
                offset = reattach.reattach_stream(sink, offset)  # it appended to the driver log as it printed
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


def copy_outputs(store: HistoryStore, record: RunRecord, dest: Path) -> TreeCopy:
    """Copy the run's collected outputs/ into `dest` (made even when the run has no outputs).

    Files of the same name are replaced; nothing is written through a symbolic link (treecopy.copy_tree).
    """
    from ..treecopy import copy_tree  # `history list` and `info` never copy a tree: they do not load it

    return copy_tree(store.run_dir(record.run_id) / "outputs", dest, shown="outputs")


def project_outputs(project: Project) -> Path:
    """The project's own outputs/ folder, for `experiment return`: a folder, never a link out of the project."""
    dest = project.root / "outputs"
    if dest.is_symlink():
        raise StorageError(f"{dest} is a symbolic link (to {os.readlink(dest)}); amlexec does not write through it",
                           hint="remove the link (or make outputs/ a folder), or copy with "
                           "`amlexec history download -r RUN_ID -d FOLDER`")
    if dest.exists() and not dest.is_dir():
        raise StorageError(f"{dest} is a file, not a folder", hint="move the file away, then run return again")
    return dest
