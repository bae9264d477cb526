"""Submitting a run, written once for every target: record, snapshot, env, stream, cancel, outputs, status."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import snapshot as snapshots
from .config.runconfig import FILE_PLACEHOLDER
from .errors import AmlexecError, ExitCode, RunUnreachableError, StorageError, UsageError
from .history.store import HistoryStore, RunRecord, utc_now
from .project import Project
from .runlog import ControlLog, ingest_metrics, read_git_commit
from .scriptpath import excluded_error, printable, resolve_script, run_argv
from .targets.base import (
    CONTROL_LOG,
    Progress,
    RunHandle,
    RunSpec,
    Sink,
    python_line,
    refuse_lock_options,
    target_for,
)
from .transport import process

SUBMIT_FILE = "submit.json"


@dataclass(frozen=True)
class SubmitRequest:
    runconfig: str
    script: str | None = None
    args: tuple[str, ...] = ()
    target: str | None = None
    conda_file: str | None = None
    spark_file: str | None = None
    detach: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitResult:
    run_id: str
    record: RunRecord | None  # None for runs with `TrackedRun: false`
    exit_code: int


def open_store(project: Project) -> HistoryStore:
    return HistoryStore(project.state_dir)


def run_context_env(project: Project, run_id: str, *, target: str, runconfig: str) -> dict[str, str]:
    """Variables every run sees, on every target."""
    return {
        "AZUREML_RUN_ID": run_id,
        "AMLEXEC_RUN_ID": run_id,
        "AMLEXEC_PROJECT_NAME": project.name,
        "AMLEXEC_TARGET": target,
        "AMLEXEC_RUNCONFIG": runconfig,
    }


def submit(project: Project, req: SubmitRequest, *, sink: Sink, progress: Progress,
           announce: Progress) -> SubmitResult:
    """Start a run; stream it to completion unless `req.detach`. `announce` gets the `RunId:` line."""
    rc = project.load_runconfig(req.runconfig)
    compute = project.target_of(rc, req.target)
    target = target_for(compute, project)
    script = resolve_script(project, req.script) if req.script else None
    if script is None and FILE_PLACEHOLDER in rc.argument_vector:
        raise UsageError("no script given", hint=f"amlexec experiment submit -c {rc.name} SCRIPT [ARGS...]")
    argv = run_argv(rc, script, req.args)
    snap = snapshots.collect(project.root)
    if script is not None and script not in {f.path for f in snap.files}:
        raise excluded_error(script)
    refuse_lock_options(target, compute, req.options)
    project.check_before_run(rc, compute, argv=argv, env=rc.env, conda_file=req.conda_file,
                             spark_file=req.spark_file)
    check = getattr(target, "check", None)
    if check is not None:
        check(rc, req.conda_file, req.spark_file, req.options)
    if not rc.tracked_run and req.detach:
        raise UsageError(f"{rc.file_name} has TrackedRun: false, so a detached run could not be followed",
                         hint="run it attached (without -a), or set TrackedRun: true")

    store = open_store(project)
    record = store.create_run(
        project=project.name, status="Starting", script_name=printable(script) if script is not None else None,
        arguments=[printable(a) for a in req.args],
        runconfig=rc.name, target=compute.name, target_type=compute.type, user_id=_user(),
        description=rc.description,
        properties={"CommitId": read_git_commit(project.root), "snapshot_files": len(snap.files),
                    "snapshot_bytes": snap.total_bytes},
        supervisor=process.identity(os.getpid()),
    )
    run_id = record.run_id
    announce(f"RunId: {run_id}")
    if req.detach:  # an attached run says it when its environment is ready (execute); a detached one now
        _announce_python(target, progress)
    run_dir = store.run_dir(run_id)
    workdir = project.state_dir / "work" / run_id
    try:
        snapshots.copy_to(snap, workdir)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        store.finish(run_id, status="Failed", exit_code=None, error=f"copying the project failed: {exc}")
        raise StorageError(f"copying the project into {workdir} failed: {exc}") from exc
    env = {"PYTHONUNBUFFERED": "1", **rc.env,
           **run_context_env(project, run_id, target=compute.name, runconfig=rc.name)}
    spec = RunSpec(run_id=run_id, project=project, compute=compute, runconfig=rc, argv=argv, env=env,
                   workdir=workdir, run_dir=run_dir, conda_file=req.conda_file, spark_file=req.spark_file,
                   options=dict(req.options))
    log = ControlLog(run_dir / CONTROL_LOG)
    log.write(f"snapshot: {len(snap.files)} files, {snap.total_bytes} bytes",
              f"target: {compute.name} ({compute.type}); runconfig: {rc.name}; framework: {rc.framework}",
              f"environment variables from {rc.file_name}: {', '.join(sorted(rc.env)) or 'none'}")
    if req.detach:
        _start_worker(store, spec)
        return SubmitResult(run_id, store.get(run_id), 0)
    final = execute(store, spec, target, sink=sink, progress=progress)
    if not rc.tracked_run:
        _forget(store, run_id)
        return SubmitResult(run_id, None, final.exit_code if final.exit_code is not None else 1)
    return SubmitResult(run_id, final, _exit_code(final))


def _announce_python(target: Any, progress: Progress) -> None:
    """`python: ...` in the submit's header, for targets that know their interpreter without starting."""
    facts = getattr(target, "python_facts", None)
    line = python_line(facts()) if facts is not None else None
    if line:
        progress(line)


def _exit_code(record: RunRecord) -> int:
    if record.status == "Canceled":
        return 130
    if not record.is_final:  # detached by Ctrl-C: the script's exit code is not known yet
        return int(ExitCode.CANCELED)
    return record.exit_code if record.exit_code is not None else 1


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill` (or a CI timeout) on amlexec cancels the run like Ctrl-C instead of orphaning it."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(store: HistoryStore, spec: RunSpec, target: Any, *, sink: Sink, progress: Progress) -> RunRecord:
    """Run `spec` on `target` to the end, streaming to `sink`, and finalize its record."""
    log = ControlLog(spec.run_dir / CONTROL_LOG)
    handle: RunHandle | None = None
    status, code, error = "Failed", None, None
    failure: BaseException | None = None
    detached = False  # the run goes on without this process; runs.refresh() settles it later
    with _sigterm_as_interrupt():
        try:
            prepare = getattr(target, "ensure_environment", None)
            if prepare is not None:
                store.update(spec.run_id, status="Preparing")
                facts = prepare(spec, progress)
                line = python_line(facts or {})
                if line:  # the submit's header says which interpreter runs the script
                    progress(line)
                if facts:  # what the run's environment is (e.g. which Python): kept in the run's properties
                    properties = {**store.get(spec.run_id).properties, **facts}
                    store.update(spec.run_id, properties=properties)
            handle = target.submit(spec, progress)
            store.update(spec.run_id, status="Running", start_time_utc=utc_now(), handle=handle.state())
            log.write("started: " + json.dumps(handle.state()))
            handle.stream(sink)
            code = handle.wait()
            status = "Completed" if code == 0 else "Failed"
            if store.get(spec.run_id).cancel_requested:
                status = "Canceled"
        except KeyboardInterrupt:
            # `experiment cancel` SIGTERMs a supervisor that has no handle yet, and it must still cancel.
            if (handle is not None and getattr(target, "interrupt_detaches", False)
                    and not store.get(spec.run_id).cancel_requested):
                detached = True
                progress(_detach_note(spec.run_id))
            else:
                progress("canceling the run...")
                if handle is not None:
                    handle.cancel()
                status, code, error = "Canceled", 130, "canceled by the user"
        except RunUnreachableError as exc:
            error, failure = exc.message, exc
            if handle is not None and target.independent_runs:
                detached = True  # not Failed: the run may be going on; refresh() settles it when it answers
                store.update(spec.run_id, status="Unreachable")
                log.write(f"unreachable: {exc.message}")
        except AmlexecError as exc:
            error, failure = exc.message, exc
        except Exception as exc:  # a bug: still leave a finalized record behind
            error, failure = f"internal error: {exc!r}", exc
        finally:
            if detached:
                record = store.get(spec.run_id)
            else:
                record = finalize(store, spec.run_id, handle, status=status, exit_code=code, error=error,
                                  progress=progress)
                if handle is not None:
                    handle.cleanup()
            # A detached run whose handle still needs the local copy names it in its state (runs._settle).
            if not (detached and handle is not None and "workdir" in handle.state()):
                shutil.rmtree(spec.workdir, ignore_errors=True)
    if failure is not None:
        raise failure
    return record


def _detach_note(run_id: str) -> str:
    return (f"detached: run {run_id} goes on on its target.\n"
            f"  follow it:  amlexec history logs -r {run_id} --follow\n"
            f"  cancel it:  amlexec experiment cancel -r {run_id}\n"
            f"  collect it: amlexec history info -r {run_id} (outputs and status come back once it has ended)")


def finalize(store: HistoryStore, run_id: str, handle: RunHandle | None, *, status: str, exit_code: int | None,
             error: str | None, progress: Progress) -> RunRecord:
    """Collect outputs, logs and metrics (whatever the status), then record the final status once."""
    run_dir = store.run_dir(run_id)
    log = ControlLog(run_dir / CONTROL_LOG)
    if handle is not None:
        try:
            for warning in handle.collect(run_dir):
                progress(f"warning: {warning}")
                log.write(f"warning: {warning}")
        except AmlexecError as exc:
            progress(f"warning: collecting the run's files failed: {exc.message}")
            log.write(f"collecting failed: {exc.message}")
            error = error or f"collecting the run's files failed: {exc.message}"
        found = getattr(handle, "properties", None)
        if found is not None:
            extra = found()
            if extra:
                store.update(run_id, properties={**store.get(run_id).properties, **extra})
    problems = ingest_metrics(store, run_id)
    for problem in problems:
        log.write(f"warning: {problem}")
    log.write(f"finished: {status}, exit code {exit_code}" + (f": {error}" if error else ""))
    return store.finish(run_id, status=status, exit_code=exit_code, error=error)


def _forget(store: HistoryStore, run_id: str) -> None:
    """`TrackedRun: false`: the run leaves nothing in history."""
    with store._write() as conn:
        conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    shutil.rmtree(store.run_dir(run_id), ignore_errors=True)


# -- detached runs ------------------------------------------------------------------------------------
def _start_worker(store: HistoryStore, spec: RunSpec) -> None:
    """A detached run is supervised by a background amlexec process (`python -m amlexec.worker`)."""
    payload = {
        "project": str(spec.project.root), "run_id": spec.run_id, "runconfig": spec.runconfig.name,
        "target": spec.compute.name, "argv": spec.argv, "env": spec.env, "workdir": str(spec.workdir),
        "conda_file": spec.conda_file, "spark_file": spec.spark_file, "options": spec.options,
    }
    path = spec.run_dir / SUBMIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # env values may be secrets
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    with open(spec.run_dir / "worker.log", "ab") as worker_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "amlexec.worker", str(path)], stdin=subprocess.DEVNULL,
            stdout=worker_log, stderr=worker_log, start_new_session=True, cwd=spec.project.root,
        )
    store.update(spec.run_id, supervisor=process.identity(proc.pid))


def run_worker(submit_file: Path) -> int:
    """Entry point of the background supervisor of a detached run."""
    payload = json.loads(submit_file.read_text())
    project = Project(Path(payload["project"]))
    store = open_store(project)
    store.update(payload["run_id"], supervisor=process.identity(os.getpid()))
    try:
        rc = project.load_runconfig(payload["runconfig"])
        compute = project.load_compute(payload["target"])
    except AmlexecError as exc:  # the files changed between submit and now
        store.finish(payload["run_id"], status="Failed", exit_code=None, error=exc.message)
        raise
    spec = RunSpec(run_id=payload["run_id"], project=project, compute=compute, runconfig=rc,
                   argv=payload["argv"], env=payload["env"], workdir=Path(payload["workdir"]),
                   run_dir=store.run_dir(payload["run_id"]), conda_file=payload["conda_file"],
                   spark_file=payload["spark_file"], options=payload["options"])
    submit_file.unlink(missing_ok=True)
    log = ControlLog(spec.run_dir / CONTROL_LOG)
    record = execute(store, spec, target_for(compute, project), sink=lambda _s, _b: None,
                     progress=log.write)
    return _exit_code(record)
