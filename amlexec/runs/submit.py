"""Submitting a run, written once for every target: record, snapshot, env, stream, cancel, outputs, status."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import snapshot as snapshots
from ..config.compute import ComputeTarget
from ..config.runconfig import FILE_PLACEHOLDER, RunConfig
from ..errors import AmlexecError, ExitCode, StorageError, UsageError
from ..history.rows import PARENT_PROPERTY
from ..history.store import HistoryStore, RunRecord
from ..project import Project
from ..scriptpath import excluded_error, printable, resolve_script, run_argv
from ..targets.base import (
    CONTROL_LOG,
    Progress,
    RunSpec,
    Sink,
    Target,
    python_line,
    refuse_lock_options,
    target_for,
)
from ..targets.options import RunOptions
from ..transport import process
from .runlog import ControlLog, read_git_commit, release_space, reserve_space
from .settle import finalize, never_raising
from .supervise import as_error, execute, reason

__all__ = ["Planned", "SubmitRequest", "SubmitResult", "execute", "finalize", "open_store", "plan", "run_worker",
           "submit"]

SUBMIT_FILE = "submit.json"


@dataclass(frozen=True)
class SubmitRequest:
    """What `experiment submit` was asked to run (or what a sweep asks for one of its trials)."""

    runconfig: str
    script: str | None = None
    args: tuple[str, ...] = ()
    target: str | None = None
    detach: bool = False
    options: RunOptions = field(default_factory=RunOptions)  # -d, -s and the target's switches
    parent_run_id: str | None = None  # a sweep's trial; else the calling run's, for a submit made inside a run
    env: dict[str, str] = field(default_factory=dict)  # added to the runconfig's (a trial's parameters)
    properties: dict[str, Any] = field(default_factory=dict)  # recorded with the run (a trial's parameters)
    vector: tuple[str, ...] | None = None  # the runconfig's ArgumentVector with a trial's values in it

    def __post_init__(self) -> None:
        # A mapping of the options' fields is accepted too (scripts and tests that drive submit directly).
        object.__setattr__(self, "options", RunOptions.of(self.options))


@dataclass(frozen=True)
class Planned:
    """A submit checked before anything is recorded: every configuration error is found here."""

    rc: RunConfig
    compute: ComputeTarget
    target: Target
    script: str | None
    argv: list[str]
    snap: snapshots.Snapshot


@dataclass(frozen=True)
class SubmitResult:
    """The run a submit made, its final record, and the exit code the command ends with."""

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


def plan(project: Project, req: SubmitRequest) -> Planned:
    """Load and check everything a run needs, recording nothing: a bad file or option fails here."""
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
    options = req.options
    project.check_before_run(rc, compute, argv=argv, env={**rc.env, **req.env}, conda_file=options.conda_file,
                             spark_file=options.spark_file)
    target.check(rc, options.conda_file, options.spark_file, options)
    if not rc.tracked_run and req.detach:
        raise UsageError(f"{rc.file_name} has TrackedRun: false, so a detached run could not be followed",
                         hint="run it attached (without -a), or set TrackedRun: true")
    return Planned(rc, compute, target, script, argv, snap)


def submit(project: Project, req: SubmitRequest, *, sink: Sink, progress: Progress,
           announce: Progress, planned: Planned | None = None,
           supervise: Callable[[HistoryStore, RunSpec], None] | None = None) -> SubmitResult:
    """Start a run; stream it to completion unless `req.detach`. `announce` gets the `RunId:` line.
    `planned`: the checks already made for this request (a sweep plans once for all its trials).
    `supervise`: who supervises a detached run (default: a background worker process; a sweep's trials are
    supervised by threads of the sweep's own process)."""
    checked = planned or plan(project, req)
    rc, compute, target, script, snap = checked.rc, checked.compute, checked.target, checked.script, checked.snap
    if req.vector is not None:  # a sweep's trial: its parameters are in the runconfig's ArgumentVector too
        rc = replace(rc, argument_vector=req.vector)
    argv = run_argv(rc, script, req.args)
    store = open_store(project)
    record = store.create_run(
        project=project.name, status="Starting", script_name=printable(script) if script is not None else None,
        arguments=[printable(a) for a in req.args],
        runconfig=rc.name, target=compute.name, target_type=compute.type, user_id=_user(),
        description=rc.description,
        properties={"CommitId": read_git_commit(project.root), "snapshot_files": len(snap.files),
                    "snapshot_bytes": snap.total_bytes, **parent_properties(store, req), **req.properties},
        supervisor=process.identity(os.getpid()),
    )
    run_id = record.run_id
    try:
        _announce(announce, f"RunId: {run_id}")
        # An attached run says it when its environment is ready (execute); a detached one now; a sweep's trial
        # never (the sweep said it once, and asking here would hold up the next trial's start).
        if req.detach and supervise is None:
            _announce_python(target, progress)
        spec = _stage(store, record, project=project, req=req, rc=rc, compute=compute, snap=snap, argv=argv)
        if req.detach:
            (supervise or _start_worker)(store, spec)
            return SubmitResult(run_id, store.get(run_id), 0)
    except BaseException as exc:
        raised = abandon(store, run_id, exc, progress)
        if raised is exc:
            raise
        raise raised from exc
    final = execute(store, spec, target, sink=sink, progress=progress)
    if not rc.tracked_run:
        _forget(store, run_id)
        return SubmitResult(run_id, None, final.exit_code if final.exit_code is not None else 1)
    return SubmitResult(run_id, final, _exit_code(final))


def parent_properties(store: HistoryStore, req: SubmitRequest) -> dict[str, str]:
    """The parent's id for the record: the sweep's, or the run this submit is made from (a Workbench driver
    such as Iris's run.py submitting from inside its own run), when that run is in this project's history."""
    if req.parent_run_id:
        return {PARENT_PROPERTY: req.parent_run_id}
    calling = os.environ.get("AMLEXEC_RUN_ID")
    if not calling:
        return {}
    try:
        store.get(calling)
    except AmlexecError:  # a run of another project (or one forgotten): not a parent here
        return {}
    return {PARENT_PROPERTY: calling}


def _announce_python(target: Target, progress: Progress) -> None:
    """`python: ...` in the submit's header, for targets that know their interpreter without starting."""
    line = python_line(target.python_facts())
    if line:
        progress(line)


def _announce(announce: Progress, line: str) -> None:
    try:
        announce(line)
    except OSError as exc:  # `> /dev/full`, a closed pipe: the run id cannot be shown, so no run starts
        raise StorageError(f"cannot write to standard output: {exc.strerror or exc}",
                           hint="send the output somewhere that can take it (a file, a terminal)") from exc


def _stage(store: HistoryStore, record: RunRecord, *, project: Project, req: SubmitRequest, rc: RunConfig,
           compute: ComputeTarget, snap: snapshots.Snapshot, argv: list[str]) -> RunSpec:
    """The run's private copy of the project, its control log, and the spec a target starts it from."""
    run_id = record.run_id
    reserve_space(store.run_dir(run_id))
    workdir = store.work_dir(run_id)
    try:
        snapshots.copy_to(snap, workdir)
    except OSError as exc:
        raise StorageError(f"copying the project into {workdir} failed: {exc.strerror or exc}",
                           hint="check that the project's .amlexec folder is writable and its disk has room"
                           ) from exc
    env = {"PYTHONUNBUFFERED": "1", **rc.env, **req.env,
           **run_context_env(project, run_id, target=compute.name, runconfig=rc.name)}
    spec = RunSpec(run_id=run_id, project=project, compute=compute, runconfig=rc, argv=argv, env=env,
                   workdir=workdir, run_dir=store.run_dir(run_id), options=req.options)
    ControlLog(spec.run_dir / CONTROL_LOG).write(
        f"snapshot: {len(snap.files)} files, {snap.total_bytes} bytes",
        f"target: {compute.name} ({compute.type}); runconfig: {rc.name}; framework: {rc.framework}",
        f"environment variables from {rc.file_name}: {', '.join(sorted(rc.env)) or 'none'}")
    return spec


def abandon(store: HistoryStore, run_id: str, exc: BaseException, progress: Progress) -> BaseException:
    """A run that failed before it started: settle its record, remove its copy; the exception to raise."""
    raised = as_error(exc)
    canceled = isinstance(exc, KeyboardInterrupt)
    why = reason(raised)
    snapshots.remove_copy(store.work_dir(run_id))
    release_space(store.run_dir(run_id))
    try:
        store.finish(run_id, status="Canceled" if canceled else "Failed", exit_code=130 if canceled else None,
                     error=why)
    except AmlexecError as problem:
        never_raising(progress)(f"warning: run {run_id} could not be recorded as failed: {problem.message}")
    return raised


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


def _forget(store: HistoryStore, run_id: str) -> None:
    """`TrackedRun: false`: the run leaves nothing in history."""
    store.delete_run(run_id)
    shutil.rmtree(store.run_dir(run_id), ignore_errors=True)


# -- detached runs ------------------------------------------------------------------------------------
def _start_worker(store: HistoryStore, spec: RunSpec) -> None:
    """A detached run is supervised by a background amlexec process (`python -m amlexec.runs.worker`)."""
    payload = {
        "project": str(spec.project.root), "run_id": spec.run_id, "runconfig": spec.runconfig.name,
        "target": spec.compute.name, "argv": spec.argv, "env": spec.env, "workdir": str(spec.workdir),
        "options": spec.options.to_json(),
    }
    path = spec.run_dir / SUBMIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # env values may be secrets
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    with open(spec.run_dir / "worker.log", "ab") as worker_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "amlexec.runs.worker", str(path)], stdin=subprocess.DEVNULL,
            stdout=worker_log, stderr=worker_log, start_new_session=True, cwd=spec.project.root,
        )
    store.update(spec.run_id, supervisor=process.identity(proc.pid))


def run_worker(submit_file: Path) -> int:
    """Entry point of the background supervisor of a detached run."""
    payload = json.loads(submit_file.read_text())
    project = Project(Path(payload["project"]))
    store = open_store(project)
    run_id = payload["run_id"]
    try:
        store.update(run_id, supervisor=process.identity(os.getpid()))
        rc = project.load_runconfig(payload["runconfig"])  # the files may have changed since the submit
        compute = project.load_compute(payload["target"])
        spec = RunSpec(run_id=run_id, project=project, compute=compute, runconfig=rc,
                       argv=payload["argv"], env=payload["env"], workdir=Path(payload["workdir"]),
                       run_dir=store.run_dir(run_id), options=RunOptions.from_json(payload["options"]))
        submit_file.unlink(missing_ok=True)
    except BaseException as exc:
        raised = abandon(store, run_id, exc, lambda _line: None)
        if raised is exc:
            raise
        raise raised from exc
    log = ControlLog(spec.run_dir / CONTROL_LOG)
    record = execute(store, spec, target_for(compute, project), sink=lambda _s, _b: None,
                     progress=log.write)
    return _exit_code(record)
