"""The `remote` target: the script runs with the host's own Python (`pythonLocation`) over SSH, no Docker.

Workbench's `attach remote` (userManagedEnvironment: true): amlexec manages no environment there. A run
uploads the project snapshot incrementally and amlexec's small runtime folder, then starts the script
detached from the connection; see `sshrun.py` for how it is followed, canceled and collected.
"""

from __future__ import annotations

import contextlib
import posixpath
from typing import Any, ClassVar

from ..config.compute import ComputeTarget
from ..errors import AmlexecError, UsageError
from ..project import Project
from ..runlog import ControlLog
from ..runtime import runtime_files
from ..transport import detached, sync
from ..transport.remotehost import RemoteHost
from ..transport.session import Session
from ..transport.ssh import SshSettings
from .base import CONTROL_LOG, METRICS_FILE, Progress, RunSpec
from .sshrun import SshRun

DEFAULT_PYTHON = "python3"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def remote_path(home: str, path: str) -> str:
    """A path from a `.compute` file as the host sees it: `~/x` is below the user's home there."""
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return path


def run_settings(compute: ComputeTarget, state: dict[str, Any] | None = None) -> SshSettings:
    """How to reach the target's host; for a started run (`state`), the host it started on, even if the
    .compute file was edited or removed since."""
    if state is None:
        return SshSettings.from_compute(compute)
    return SshSettings.from_compute(compute, host=state["host"], port=int(state["port"]), username=state["user"])


class RemoteTarget:
    type: ClassVar[str] = "remote"
    independent_runs: ClassVar[bool] = True
    # Ctrl-C while streaming leaves the run going on the host (it does not depend on this process).
    interrupt_detaches: ClassVar[bool] = True

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        self.compute = compute
        self.project = project

    def settings(self, state: dict[str, Any] | None = None) -> SshSettings:
        return run_settings(self.compute, state)

    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        """The argv the host runs: `pythonLocation -u script args...` (unbuffered, so output streams)."""
        if spec.runconfig.is_pyspark:
            raise UsageError(f"{spec.runconfig.file_name} uses Framework: PySpark, but '{self.compute.name}' is a "
                             "remote target, which runs plain Python",
                             hint="set Framework: Python, or attach the host as a cluster target")
        python = remote_path(home, self.compute.python_location or DEFAULT_PYTHON)
        return [python, "-u", *spec.argv]

    def environment(self, spec: RunSpec, *, remote_dir: str, shared: str | None) -> dict[str, str]:
        env = dict(spec.env)
        env["AMLEXEC_OUTPUTS_DIR"] = posixpath.join(remote_dir, "project", "outputs")
        env["AMLEXEC_METRICS_FILE"] = posixpath.join(remote_dir, METRICS_FILE)
        if shared:
            env["AZUREML_NATIVE_SHARE_DIRECTORY"] = shared.rstrip("/") + "/"
        return env

    def submit(self, spec: RunSpec, progress: Progress) -> SshRun:
        settings = self.settings()
        session = Session(settings, progress=progress, run_id=spec.run_id)
        progress(f"connecting to {settings.display}")
        host = session.host()
        remote_dir = host.layout.run_dir(spec.run_id)
        try:
            pgid = self._start(spec, host, remote_dir, progress)
        except BaseException:
            # Nothing runs yet: leave no half-made run folder (or env file) behind on the host.
            with contextlib.suppress(Exception):
                host.check("remove", remote_dir)
            session.close()
            raise
        return SshRun(session=session, run_id=spec.run_id, remote_dir=remote_dir, local_run_dir=spec.run_dir,
                      pgid=pgid)

    def _start(self, spec: RunSpec, host: RemoteHost, remote_dir: str, progress: Progress) -> int:
        home = host.conn.home()
        argv = self.command(spec, home=home)
        entries = sync.scan(spec.workdir, prefix="project/") + sync.from_bytes(runtime_files(), prefix="runtime/")
        stats = sync.upload(host, entries, remote_dir, cache_key=str(self.project.root))
        summary = (f"{stats.objects_sent} of {stats.files} files new, {_size(stats.bytes_sent)} sent "
                   f"({_size(stats.total_bytes)} in all) in {stats.seconds:.1f}s")
        progress(f"uploaded to {host.display}: {summary}")
        log = ControlLog(spec.run_dir / CONTROL_LOG)
        log.write(f"upload to {host.display}:{remote_dir}: {summary}; bytes_sent={stats.bytes_sent}")
        host.makedirs(posixpath.join(remote_dir, "project", "outputs"))
        shared = None
        if self.compute.native_shared_directory:
            shared = posixpath.join(remote_path(home, self.compute.native_shared_directory), self.project.name)
            host.makedirs(shared)
        env = detached.env_file(self.environment(spec, remote_dir=remote_dir, shared=shared),
                                pythonpath=posixpath.join(remote_dir, "runtime"), source=spec.runconfig.file_name)
        try:
            return detached.launch(host, remote_dir, cwd=posixpath.join(remote_dir, "project"), argv=argv, env=env)
        except AmlexecError as exc:
            raise AmlexecError(f"starting {argv[0]} on {host.display} failed: {exc.message}",
                               hint=f"check pythonLocation in {self.compute.file_name}") from exc

    def restore(self, state: dict[str, Any]) -> SshRun:
        return SshRun.restore(state, self.settings(state))
