"""The `local` target: the script runs on this machine with the interpreter from `pythonLocation`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..config.compute import ComputeTarget
from ..config.runconfig import RunConfig
from ..errors import NotFoundError, StorageError
from ..project import Project
from ..runtime import runtime_dir
from ..transport import process
from .base import DRIVER_LOG, METRICS_FILE, Progress, RunSpec, Sink
from .outputs import collect_outputs


class LocalTarget:
    type: ClassVar[str] = "local"
    independent_runs: ClassVar[bool] = False

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        self.compute = compute
        self.project = project

    def interpreter(self) -> str:
        """`pythonLocation`, with Workbench's meaning of "python": the currently active Python."""
        location = self.compute.python_location
        if not location:
            return sys.executable
        found = shutil.which(os.path.expanduser(location))
        if found:
            return found
        if location == "python":
            return sys.executable  # a machine with only `python3` on PATH: the Python amlexec runs in
        raise NotFoundError(
            f"{self.project.display(self.compute.path) if self.compute.path else self.compute.file_name}: "
            f"pythonLocation '{location}' was not found",
            hint="set pythonLocation to an interpreter's path, or remove it to use amlexec's own Python",
        )

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, object]:
        """The local target manages no environment; it only reports which Python the run uses."""
        python = self.interpreter()
        where = f"pythonLocation '{self.compute.python_location}'" if self.compute.python_location else \
            "the Python amlexec runs in (no pythonLocation)"
        facts: dict[str, object] = {"python": f"{python} ({where})", "python_source": "pythonLocation"}
        if os.path.realpath(python) == os.path.realpath(sys.executable):
            facts["python_version"] = ".".join(map(str, sys.version_info[:3]))
        return facts

    def check(self, rc: RunConfig, conda_file: str | None, spark_file: str | None,
              options: Mapping[str, Any] | None = None) -> None:
        self.interpreter()
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
        from ..environment.spark import spark_submit_argv

        spark = self.project.load_spark(spec.runconfig, spec.spark_file)
        return spark_submit_argv(spark, submit=self._spark_submit(spec.runconfig), script=spec.argv,
                                 master="local[*]")

    def environment(self, spec: RunSpec) -> dict[str, str]:
        env = dict(os.environ)
        env.update(spec.env)
        outputs = spec.workdir / "outputs"
        outputs.mkdir(exist_ok=True)
        env["AMLEXEC_OUTPUTS_DIR"] = str(outputs)
        env["AMLEXEC_METRICS_FILE"] = str(spec.run_dir / METRICS_FILE)
        # Nested `amlexec` calls from inside a run (the Workbench sweep idiom) record into this project.
        env["AMLEXEC_PROJECT"] = str(self.project.root)
        shared = self.compute.native_shared_directory
        if shared:
            folder = Path(os.path.expanduser(shared)) / self.project.name
            folder.mkdir(parents=True, exist_ok=True)
            env["AZUREML_NATIVE_SHARE_DIRECTORY"] = str(folder) + os.sep
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(runtime_dir()), env.get("PYTHONPATH")) if p)
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

    def poll(self) -> int | None:
        if self.proc is not None:
            code = self.proc.poll()
            return None if code is None else process.exit_status(code)
        # Not our child: its exit code is gone with it; callers treat a vanished run as failed.
        return None if process.is_alive({"pid": self.pid, "start": self.start}) else -1

    def cancel(self) -> None:
        if self.proc is None and not process.is_alive({"pid": self.pid, "start": self.start}):
            return  # never signal a recycled pid
        reap = (lambda: self.proc.poll() is not None) if self.proc is not None else None
        process.kill_group(self.pid, reap=reap)
        if self.proc is not None:
            self.proc.wait()

    def kill(self) -> None:
        """SIGKILL the run's whole process group at once (a second Ctrl-C during a cancel)."""
        if self.proc is None and not process.is_alive({"pid": self.pid, "start": self.start}):
            return  # never signal a recycled pid
        reap = (lambda: self.proc.poll() is not None) if self.proc is not None else None
        process.kill_now(self.pid, reap=reap)

    def collect(self, run_dir: Path) -> list[str]:
        return collect_outputs(self.workdir / "outputs", run_dir / "outputs")

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
