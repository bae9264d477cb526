"""The `local` target: the script runs on this machine with the interpreter from `pythonLocation`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from ...config.compute import ComputeTarget
from ...config.runconfig import RunConfig
from ...errors import NotFoundError, StorageError
from ...project import Project
from ...runtime import runtime_dir
from ...transport import process
from ..base import (
    DRIVER_LOG,
    METRICS_FILE,
    RUNNING,
    VANISHED,
    Exited,
    Poll,
    Progress,
    RunSpec,
    Sink,
    check_shared_directory,
)
from ..options import RunOptions
from ..outputs import collect_outputs
from ..runenv import RunLayout, run_environment
from ..types import TargetType
from . import LOCAL

ACTIVE_ENV_VARS = ("VIRTUAL_ENV", "CONDA_PREFIX")  # set by `activate` of a venv or a conda environment
_VERSION_CODE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def choose_interpreter(location: str | None, *, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(the interpreter a local run uses, why that one); None when `location` names nothing runnable.

    `pythonLocation: python` (what `init` writes, Workbench's "the active Python") means the `python` of
    the activated virtual or conda environment; with none active, amlexec's own interpreter, not whatever
    `python` comes first on PATH: `.venv/bin/amlexec` without `activate` runs scripts with that venv's
    Python, as Workbench's local runs used Workbench's own runtime (docs/config-reference.md).
    """
    own = sys.executable
    if not location:
        return own, "amlexec's own Python: no pythonLocation"
    if location == "python":
        active = next((environ[name] for name in ACTIVE_ENV_VARS if environ.get(name)), None)
        found = shutil.which("python", path=environ.get("PATH")) if active else None
        if active and found:
            return found, f"pythonLocation 'python' of the active environment {active}"
        return own, "pythonLocation 'python', no virtual environment active: amlexec's own Python"
    found = shutil.which(os.path.expanduser(location), path=environ.get("PATH"))
    return (found, f"pythonLocation '{location}'") if found else None


def python_version(python: str) -> str | None:
    """The interpreter's version: free for amlexec's own, from pyvenv.cfg for a venv, else asked (~10 ms)."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return ".".join(map(str, sys.version_info[:3]))
    cfg = Path(python).parent.parent / "pyvenv.cfg"
    try:
        for line in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info") and value.strip():
                return ".".join(value.strip().split(".")[:3])
    except OSError:
        pass
    try:
        done = subprocess.run([python, "-I", "-S", "-c", _VERSION_CODE], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class LocalTarget:
    kind: ClassVar[TargetType] = LOCAL
    independent_runs: ClassVar[bool] = False

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        self.compute = compute
        self.project = project

    def interpreter(self) -> str:
        """The interpreter local runs use (see `choose_interpreter`)."""
        return self.chosen_interpreter()[0]

    def chosen_interpreter(self) -> tuple[str, str]:
        """(the interpreter's path, why that one) for this target's `pythonLocation`."""
        chosen = choose_interpreter(self.compute.python_location, environ=os.environ)
        if chosen is None:
            where = self.project.display(self.compute.path) if self.compute.path else self.compute.file_name
            raise NotFoundError(
                f"{where}: pythonLocation '{self.compute.python_location}' was not found",
                hint="set pythonLocation to an interpreter's path, or to `python` for the active virtual "
                "environment (amlexec's own Python when none is active)",
            )
        return chosen

    def python_facts(self) -> dict[str, object]:
        """Which Python the run uses and why: printed in the submit's header and kept in the run's properties."""
        python, why = self.chosen_interpreter()
        return {"python": f"{python} ({why})", "python_version": python_version(python) or "unknown",
                "python_source": "pythonLocation", "python_path": python}

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, object]:
        """The local target manages no environment; it only reports which Python the run uses."""
        return self.python_facts()

    def check(self, rc: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the interpreter, the shared folder and the dependency files."""
        self.interpreter()
        self.project.require_overrides(rc, conda_file, spark_file)
        check_shared_directory(self.compute, self.project)
        if rc.is_pyspark:
            self.project.load_spark(rc, spark_file)
            self._spark_submit(rc)

    def _spark_submit(self, rc: RunConfig) -> str:
        submit = self.compute.spark_submit_location or "spark-submit"
        found = shutil.which(os.path.expanduser(submit))
        if not found:
            raise NotFoundError(
                f"{rc.file_name} uses Framework: PySpark, but '{submit}' was not found",
                hint="install pyspark (pip install pyspark), set sparkSubmitLocation in "
                f"{self.compute.file_name}, or set Framework: Python",
            )
        return found

    def command(self, spec: RunSpec) -> list[str]:
        python = self.interpreter()
        if not spec.runconfig.is_pyspark:
            return [python, *spec.argv]
        from ...environment.spark import spark_submit_argv

        spark = self.project.load_spark(spec.runconfig, spec.spark_file)
        return spark_submit_argv(spark, submit=self._spark_submit(spec.runconfig), script=spec.argv,
                                 master="local[*]")

    def environment(self, spec: RunSpec) -> dict[str, str]:
        env = dict(os.environ)
        # The project of the submit that started this run is no business of the run: a nested submit finds
        # its project from its own working folder, as from a shell (project.history_owner). A value set in
        # EnvironmentVariables (spec.env) still wins.
        env.pop("AMLEXEC_PROJECT", None)
        env.update(spec.env)
        outputs = spec.workdir / "outputs"
        outputs.mkdir(exist_ok=True)
        folder = None
        shared = self.compute.native_shared_directory
        if shared:
            folder = Path(os.path.expanduser(shared)) / self.project.name
            folder.mkdir(parents=True, exist_ok=True)
        env = run_environment(env, RunLayout(outputs_dir=str(outputs), metrics_file=str(spec.run_dir / METRICS_FILE),
                                             runtime_dir=str(runtime_dir()), shared_dir=str(folder) if folder else None,
                                             path_separator=os.pathsep))
        if spec.runconfig.is_pyspark:
            python = self.interpreter()
            env.setdefault("PYSPARK_PYTHON", python)
            env.setdefault("PYSPARK_DRIVER_PYTHON", python)
        return env

    def submit(self, spec: RunSpec, progress: Progress) -> LocalRun:
        argv = self.command(spec)
        proc = process.spawn(argv, cwd=spec.workdir, env=self.environment(spec))
        return LocalRun(proc=proc, pid=proc.pid, workdir=spec.workdir, run_dir=spec.run_dir,
                        start=process.identity(proc.pid)["start"], command=argv)

    def restore(self, state: dict[str, Any]) -> LocalRun:
        return LocalRun(proc=None, pid=int(state["pid"]), workdir=Path(state["workdir"]),
                        run_dir=Path(state["run_dir"]), start=int(state.get("start") or 0),
                        command=list(state.get("command") or []))


class LocalRun:
    """A script running on this machine, as leader of its own process group."""

    def __init__(self, *, proc: subprocess.Popen[bytes] | None, pid: int, workdir: Path, run_dir: Path,
                 start: int, command: list[str]) -> None:
        self.proc = proc
        self.command = command
        self.pid = pid
        self.start = start
        self.workdir = workdir
        self.run_dir = run_dir

    def state(self) -> dict[str, Any]:
        return {"pid": self.pid, "start": self.start, "workdir": str(self.workdir), "run_dir": str(self.run_dir),
                "command": self.command}

    def stream(self, sink: Sink) -> None:
        assert self.proc is not None, "only the amlexec process that started a local run can stream it"
        path = self.run_dir / DRIVER_LOG
        try:
            with open(path, "ab") as log:
                process.pump(self.proc, sink, log)
        except OSError as exc:  # a full disk, or the run's folder removed: the run cannot be recorded
            raise StorageError(f"cannot write the run's driver log {path}: {exc.strerror or exc}",
                               hint="free space on that disk (or restore the folder) and submit again"
                               ) from exc

    def wait(self) -> int:
        assert self.proc is not None
        code = process.exit_status(self.proc.wait())
        # The run is over when the script ends: stop what it left running in its process group.
        if process.group_alive(self.pid):
            process.kill_group(self.pid, grace=2)
        return code

    def poll(self) -> Poll:
        if self.proc is not None:
            code = self.proc.poll()
            return RUNNING if code is None else Exited(process.exit_status(code))
        # Not our child: its exit code is gone with it; callers treat a vanished run as failed.
        return RUNNING if process.is_alive({"pid": self.pid, "start": self.start}) else VANISHED

    def cancel(self) -> None:
        if self.proc is None and not process.is_alive({"pid": self.pid, "start": self.start}):
            return  # never signal a recycled pid
        reap = self._reaper()
        process.kill_group(self.pid, reap=reap)
        if self.proc is not None:
            self.proc.wait()

    def _reaper(self) -> Callable[[], bool] | None:
        """For our own child, a check that it is gone (and reaped); for a reattached run, nothing."""
        proc = self.proc
        return (lambda: proc.poll() is not None) if proc is not None else None

    def kill_at_once(self) -> Callable[[], None]:
        return self.kill

    def kill(self) -> None:
        """SIGKILL the run's whole process group at once (a second Ctrl-C during a cancel)."""
        if self.proc is None and not process.is_alive({"pid": self.pid, "start": self.start}):
            return  # never signal a recycled pid
        reap = self._reaper()
        process.kill_now(self.pid, reap=reap)

    def collect(self, run_dir: Path) -> list[str]:
        return collect_outputs(self.workdir / "outputs", run_dir / "outputs")

    def properties(self) -> dict[str, Any]:
        return {}

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
