"""What the SSH targets share: connect, upload the run's files incrementally, start the command detached.

A subclass says what runs (`command`) and may add environment variables (`environment`) or files
(`upload_entries`); the run is then followed, canceled and collected by `SshRun` (or a subclass of it,
`run_class`). The connection opened for a run (or for preparing its environment just before) is reused
and handed to the run's handle, so a submit pays for one SSH handshake.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from ...config.compute import ComputeTarget
from ...config.runconfig import RunConfig
from ...errors import AmlexecError, NotFoundError
from ...project import Project
from ...runs.runlog import ControlLog
from ...runtime import runtime_files
from ...transport import detached, sync
from ...transport.remotehost import RemoteHost
from ...transport.session import Session
from ...transport.ssh import SshSettings
from ..base import CONTROL_LOG, METRICS_FILE, Progress, RunSpec
from ..options import RunOptions
from ..runenv import RunLayout, run_environment
from ..types import TargetType
from .run import SshRun


def size_text(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def remote_path(home: str, path: str) -> str:
    """A path from a `.compute` file as the host sees it: `~/x` is below the user's home there."""
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return path


def run_python(host: RemoteHost, python: str, code: str, *, location: str, hint: str) -> str:
    """What `python -c code` prints on the host; NotFoundError naming `location` (pythonLocation as the
    user wrote it) when the interpreter does not run."""
    done = host.conn.run([python, "-c", code], timeout=60)
    if done.status != 0:
        raise NotFoundError(f"pythonLocation '{location}' does not run on {host.display} "
                            f"(exit {done.status}: {done.text()[-300:]})", hint=hint)
    return done.stdout.decode()


def run_settings(compute: ComputeTarget, state: dict[str, Any] | None = None) -> SshSettings:
    """How to reach the target's host; for a started run (`state`), the host it started on, even if the
    .compute file was edited or removed since."""
    if state is None:
        return SshSettings.from_compute(compute)
    return SshSettings.from_compute(compute, host=state["host"], port=int(state["port"]), username=state["user"])


def upload_run(host: RemoteHost, entries: list[sync.Entry], remote_dir: str, *, spec: RunSpec,
               progress: Progress) -> None:
    """Upload a run's files into its folder on the host incrementally (what the host has from earlier runs
    of the project is not sent again), and say how much went, to the user and in the control log."""
    stats = sync.upload(host, entries, remote_dir, cache_key=str(spec.project.root))
    summary = (f"{stats.objects_sent} of {stats.files} files new, {size_text(stats.bytes_sent)} sent "
               f"({size_text(stats.total_bytes)} in all) in {stats.seconds:.1f}s")
    progress(f"uploaded to {host.display}: {summary}")
    ControlLog(spec.run_dir / CONTROL_LOG).write(
        f"upload to {host.display}:{remote_dir}: {summary}; bytes_sent={stats.bytes_sent}")


@contextlib.contextmanager
def removed_on_failure(host: RemoteHost, remote_dir: str, close: Callable[[], None]) -> Iterator[None]:
    """A run being started on the host: if the start fails, nothing runs yet, so its half-made folder (and
    env file) is removed, best effort, and the connection closed, before the failure goes on."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the failure that got us here says more
            host.check("remove", remote_dir)
        close()
        raise


def check_ssh_settings(compute: ComputeTarget) -> SshSettings:
    """Before a run is recorded: the .compute file says where and as whom to connect, and the key file and
    stored secrets it names are usable. Needs no connection."""
    from ...transport.ssh import check_credentials

    settings = SshSettings.from_compute(compute)
    check_credentials(settings)
    return settings


class SshTarget:
    """The base of the targets that run on an SSH host; subclasses set `type` and define `command`."""

    kind: ClassVar[TargetType]  # each subclass's descriptor; all declare DETACHES_ON_INTERRUPT
    independent_runs: ClassVar[bool] = True
    run_class: ClassVar[type[SshRun]] = SshRun

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        self.compute = compute
        self.project = project
        self._session: Session | None = None

    def settings(self, state: dict[str, Any] | None = None) -> SshSettings:
        return run_settings(self.compute, state)

    def session(self, progress: Progress, *, run_id: str | None = None) -> Session:
        """The connection of this submit (or prepare), opened on first use."""
        if self._session is None:
            self._session = Session(self.settings(), progress=progress, run_id=run_id)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def python_facts(self) -> dict[str, object]:
        return {}  # the host's interpreter is known only once connected (ensure_environment)

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the connection settings and the `-d`/`-s` files (a subclass adds its own)."""
        check_ssh_settings(self.compute)
        self.project.require_overrides(runconfig, conda_file, spark_file)
        detached.env_file(runconfig.env, source=runconfig.file_name)  # names and values the host can export

    # -- what a subclass defines ----------------------------------------------------------------------
    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        """The argv the host runs in the run's project folder."""
        raise NotImplementedError

    def launch_hint(self) -> str:
        return f"check pythonLocation in {self.compute.file_name}"

    def environment(self, spec: RunSpec, *, remote_dir: str, shared: str | None) -> dict[str, str]:
        return run_environment(spec.env, RunLayout(outputs_dir=posixpath.join(remote_dir, "project", "outputs"),
                                                   metrics_file=posixpath.join(remote_dir, METRICS_FILE),
                                                   runtime_dir=None, shared_dir=shared))

    def upload_entries(self, spec: RunSpec) -> list[sync.Entry]:
        """The run folder's files: the project snapshot and amlexec's runtime folder."""
        return sync.scan(spec.workdir, prefix="project/") + sync.from_bytes(runtime_files(), prefix="runtime/")

    # -- runs -----------------------------------------------------------------------------------------
    def submit(self, spec: RunSpec, progress: Progress) -> SshRun:
        fresh = self._session is None  # else ensure_environment connected (and said so) a moment ago
        session = self.session(progress, run_id=spec.run_id)
        session.run_id = spec.run_id
        if fresh:
            progress(f"connecting to {session.settings.display}")
        host = session.host()
        remote_dir = host.layout.run_dir(spec.run_id)
        with removed_on_failure(host, remote_dir, self.close):
            pgid = self._start(spec, host, remote_dir, progress)
        self._session = None  # the run's handle owns the connection from here on
        return self.run_handle(session=session, spec=spec, remote_dir=remote_dir, pgid=pgid)

    def run_handle(self, *, session: Session, spec: RunSpec, remote_dir: str, pgid: int) -> SshRun:
        return self.run_class(session=session, run_id=spec.run_id, remote_dir=remote_dir,
                              local_run_dir=spec.run_dir, pgid=pgid)

    def stage_run_folder(self, spec: RunSpec, host: RemoteHost, remote_dir: str, entries: list[sync.Entry],
                         progress: Progress) -> bytes:
        """Upload the run folder (incrementally), make its outputs/ and the shared directory; the bytes of the
        run's env file (its variables, for the detached launcher or a batch job to read)."""
        home = host.conn.home()
        upload_run(host, entries, remote_dir, spec=spec, progress=progress)
        host.makedirs(posixpath.join(remote_dir, "project", "outputs"))
        shared = None
        if self.compute.native_shared_directory:
            shared = posixpath.join(remote_path(home, self.compute.native_shared_directory), self.project.name)
            host.makedirs(shared)
        return detached.env_file(self.environment(spec, remote_dir=remote_dir, shared=shared),
                                 pythonpath=posixpath.join(remote_dir, "runtime"), source=spec.runconfig.file_name)

    def _start(self, spec: RunSpec, host: RemoteHost, remote_dir: str, progress: Progress) -> int:
        argv = self.command(spec, home=host.conn.home())
        env = self.stage_run_folder(spec, host, remote_dir, self.upload_entries(spec), progress)
        try:
            return detached.launch(host, remote_dir, cwd=posixpath.join(remote_dir, "project"), argv=argv, env=env)
        except AmlexecError as exc:
            raise AmlexecError(f"starting {argv[0]} on {host.display} failed: {exc.message}",
                               hint=self.launch_hint()) from exc

    def restore(self, state: dict[str, Any]) -> SshRun:
        return self.run_class.restore(state, self.settings(state))
