"""Supervising a run to its end on any target: stream, wait, cancel on a signal, stop on a failure, settle.

Whatever happens while a run is supervised (a signal, a full disk, a closed stdout, a bug in a target), its
script is stopped and its record settled before the error reaches the user (settle.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import snapshot as snapshots
from ..errors import AmlexecError, RunUnreachableError, StorageError
from ..history.store import HistoryStore, RunRecord, utc_now
from ..interrupts import Interrupts
from ..targets.base import CONTROL_LOG, Exited, Progress, RunHandle, RunSpec, Sink, Target, python_line, queueing
from ..targets.types import Capability
from .runlog import ControlLog
from .settle import finalize, mark_started, never_raising


@dataclass
class _Supervised:
    """What happened to a run this process supervises, filled in as it goes."""

    handle: RunHandle | None = None
    status: str = "Failed"
    code: int | None = None
    error: str | None = None
    failure: BaseException | None = None  # raised once the record is settled
    detached: bool = False  # the run goes on without this process; runs.refresh() settles it later


def execute(store: HistoryStore, spec: RunSpec, target: Target, *, sink: Sink, progress: Progress) -> RunRecord:
    """Run `spec` on `target` to the end, streaming to `sink`, and settle its record whatever happens."""
    run = _Supervised()
    say = never_raising(progress)
    record: RunRecord | None = None
    with Interrupts() as signals:
        try:
            _start(store, spec, target, run, progress)
            assert run.handle is not None
            run.handle.stream(_guarded_sink(sink))
            run.code = run.handle.wait()
            run.status = "Completed" if run.code == 0 else "Failed"
            if store.get(spec.run_id).cancel_requested:
                run.status = "Canceled"
        except KeyboardInterrupt:
            _interrupted(store, spec, target, run, signals, say)
        except Exception as exc:
            _failed(store, spec, target, run, signals, exc, say)
        finally:
            signals.settling()
            record = _settle_supervised(store, spec, run, say)
    if run.failure is not None:
        raise run.failure
    assert record is not None
    return record


def _start(store: HistoryStore, spec: RunSpec, target: Target, run: _Supervised, progress: Progress) -> None:
    store.update(spec.run_id, status="Preparing")
    facts = target.ensure_environment(spec, progress) or {}
    line = python_line(facts)
    if line:  # the submit's header says which interpreter runs the script
        progress(line)
    # What the run's environment is (e.g. which Python) goes into its properties with the Running status:
    # one write instead of two; a run that fails to start still gets them.
    try:
        run.handle = target.submit(spec, progress)
    except BaseException:
        if facts:
            store.update(spec.run_id, properties=_with(store, spec, facts))
        raise
    waiting = queueing(target, run.handle)
    started = {} if waiting is not None else {"start_time_utc": utc_now()}
    store.update(spec.run_id, status="Running" if waiting is None else "Queued", handle=run.handle.state(),
                 **started, **({"properties": _with(store, spec, facts)} if facts else {}))
    if waiting is not None:  # Running, with its start time, once the batch queue has started it
        waiting.when_started(lambda: mark_started(store, spec.run_id))
    ControlLog(spec.run_dir / CONTROL_LOG).write("started: " + json.dumps(run.handle.state()))
    _stop_if_canceled(store, spec)


def _stop_if_canceled(store: HistoryStore, spec: RunSpec) -> None:
    """A cancel asked while the run was preparing is obeyed as soon as there is something to stop (never
    before: a trial of a Slurm array already has its job, which only the handle can cancel). It matters
    where nobody can be signalled: a sweep's trials share the sweep's process, and `experiment cancel` of
    one trial must not stop the others (records.cancel only sets the request then)."""
    if _cancel_asked(store, spec):
        raise KeyboardInterrupt


def _with(store: HistoryStore, spec: RunSpec, facts: dict[str, Any]) -> dict[str, Any]:
    return {**store.get(spec.run_id).properties, **facts}


def _interrupted(store: HistoryStore, spec: RunSpec, target: Target, run: _Supervised, signals: Interrupts,
                 say: Progress) -> None:
    # `experiment cancel` SIGTERMs a supervisor that has no handle yet, and it must still cancel.
    detaches = target.kind.has(Capability.DETACHES_ON_INTERRUPT)
    if run.handle is not None and detaches and not _cancel_asked(store, spec):
        run.detached = True
        say(_detach_note(spec.run_id))
        return
    say("canceling the run... (Ctrl-C again stops it at once)")
    _stop(run, signals, say)
    run.status, run.code, run.error = "Canceled", 130, "canceled by the user"


def _failed(store: HistoryStore, spec: RunSpec, target: Target, run: _Supervised, signals: Interrupts,
            exc: Exception, say: Progress) -> None:
    error = as_error(exc)
    run.failure, run.error = error, reason(error)
    if isinstance(error, RunUnreachableError) and run.handle is not None and target.independent_runs:
        run.detached = True  # not Failed: the run may be going on; refresh() settles it when it answers
        try:
            store.update(spec.run_id, status="Unreachable")
            ControlLog(spec.run_dir / CONTROL_LOG).write(f"unreachable: {error.message}")
        except AmlexecError as problem:
            say(f"warning: {problem.message}")
        return
    if run.handle is not None and run.code is None and not _ended(run.handle):
        say(f"stopping the run: {run.error}")
        _stop(run, signals, say)


def _ended(handle: RunHandle) -> bool:
    """Whether the run has already ended on its own (a batch job Slurm killed at its time limit): then
    there is nothing to stop. Unknown counts as still going, so it is stopped."""
    try:
        return isinstance(handle.poll(), Exited)
    except Exception:
        return False


def _stop(run: _Supervised, signals: Interrupts, say: Progress) -> None:
    """Cancel the run's script; a further signal meanwhile kills it at once (local runs)."""
    if run.handle is None:
        return
    with signals.stopping(run.handle.kill_at_once()):
        try:
            run.handle.cancel()
        except (Exception, KeyboardInterrupt) as exc:
            say(f"warning: stopping the run failed: {reason(as_error(exc))}")


def _cancel_asked(store: HistoryStore, spec: RunSpec) -> bool:
    try:
        return store.get(spec.run_id).cancel_requested
    except AmlexecError:
        return False


def _settle_supervised(store: HistoryStore, spec: RunSpec, run: _Supervised, say: Progress) -> RunRecord | None:
    handle = run.handle
    try:
        if run.detached:
            return store.get(spec.run_id)
        settled = finalize(store, spec.run_id, handle, status=run.status, exit_code=run.code, error=run.error,
                           progress=say)
        if settled.failure is not None and run.failure is None:
            hint = (f"the run is recorded as {settled.record.status}: amlexec history info -r {spec.run_id}"
                    if settled.saved else "make room on the disk, or make .amlexec/history.db writable again; "
                    "the next amlexec command (e.g. amlexec history list) then records the run")
            run.failure = StorageError(settled.failure, hint=hint)
        if handle is not None:
            try:
                handle.cleanup()
            except Exception as exc:  # best effort: the run is already recorded
                say(f"warning: cleaning up after the run failed: {reason(as_error(exc))}")
        return settled.record
    except AmlexecError as exc:
        run.failure = run.failure or exc
        return None
    finally:
        # A detached run whose handle still needs the local copy names it in its state (runs._settle).
        if not (run.detached and handle is not None and "workdir" in handle.state()):
            snapshots.remove_copy(spec.workdir)


def _guarded_sink(sink: Sink) -> Sink:
    """The run's output for the user; when it cannot be written (`> /dev/full`), the run is stopped."""
    def write(stream: str, data: bytes) -> None:
        try:
            sink(stream, data)
        except OSError as exc:
            where = "standard error" if stream == "stderr" else "standard output"
            raise StorageError(f"cannot write the run's output to {where}: {exc.strerror or exc}",
                               hint="send the output somewhere that can take it, or submit with -a and "
                               "follow the run with `amlexec history logs`") from exc

    return write


def as_error(exc: BaseException) -> BaseException:
    """An OSError as the StorageError (exit 74) it is; anything else unchanged."""
    if isinstance(exc, OSError) and not isinstance(exc, AmlexecError):
        where = f" {exc.filename}" if exc.filename else ""
        return StorageError(f"reading or writing{where} failed: {exc.strerror or exc}",
                            hint="check that the project folder exists, is writable and its disk has room")
    return exc


def reason(exc: BaseException) -> str:
    if isinstance(exc, AmlexecError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "canceled by the user"
    return f"internal error: {exc!r}"


def _detach_note(run_id: str) -> str:
    return (f"detached: run {run_id} goes on on its target.\n"
            f"  follow it:  amlexec history logs -r {run_id} --follow\n"
            f"  cancel it:  amlexec experiment cancel -r {run_id}\n"
            f"  collect it: amlexec history info -r {run_id} (outputs and status come back once it has ended)")
