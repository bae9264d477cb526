"""The `slurm` target: a Slurm cluster reached by SSH to its login node.

A submit checks the request against the cluster before the run is recorded (the partition exists, the
job could ever run: `sbatch --test-only`), prepares the Python environment on the shared directory once
per content hash (the cluster target's code, `cluster/environment.py`), uploads the project incrementally
into `<sharedDirectory>/runs/<run id>/`, writes the run's variables into a 0600 env file there, and hands
the batch script (`script.py`) to `sbatch --parsable`. From then on the job belongs to Slurm: the run's
handle (`run.py`) follows the job's output file and asks `scontrol` how the job is doing, so Ctrl-C, a
dropped connection or a dead client leave it running.
"""

from __future__ import annotations

import contextlib
import posixpath
import shlex
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from ...config.runconfig import RunConfig
from ...errors import ConfigError
from ...runs.runlog import ControlLog
from ...transport import sync
from ...transport.remotehost import RemoteHost
from ...transport.session import Session
from ..base import CONTROL_LOG, METRICS_FILE, Progress, RunSpec
from ..cluster.envtarget import EnvironmentTarget
from ..options import RunOptions
from ..runenv import RunLayout, run_environment
from ..ssh.target import remote_path
from ..types import TargetType
from . import SLURM
from .array import MAX_ARRAY_TASKS, submit_array
from .jobinfo import Partition, parse_partitions
from .run import SlurmRun, below
from .script import ENV_FILE, SCRIPT_FILE, dry_run_argv, parse_job_id, render_batch_script, sbatch_argv
from .settings import SlurmSettings, slurm_settings

_PARTITIONS = "scontrol show partition -o"
_SEPARATOR = "@@amlexec-test-only@@"


class SlurmTarget(EnvironmentTarget):
    kind: ClassVar[TargetType] = SLURM

    env_where = "the shared directory's environment"
    array_limit: ClassVar[int] = MAX_ARRAY_TASKS
    plan_target = "a slurm target"

    @property
    def slurm(self) -> SlurmSettings:
        return slurm_settings(self.compute)

    def shared_root(self, home: str) -> str:
        root = remote_path(home, self.slurm.shared_directory).rstrip("/")
        if not root.startswith("/") or any(c.isspace() or c == "%" for c in root):
            raise ConfigError(f"{self.compute.file_name}: sharedDirectory {root!r} is not an absolute path sbatch "
                              "can write to", hint="use an absolute path without blanks or '%'")
        return root

    def envs_root(self, home: str) -> str:
        return posixpath.join(self.shared_root(home), "envs")

    # -- before a run is recorded ---------------------------------------------------------------------
    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """The settings and dependency files, then the request against the cluster itself (one round trip
        over the connection the submit goes on with), so a job that can never run records no run."""
        super().check(runconfig, conda_file, spark_file, options)
        if runconfig.is_pyspark:
            raise ConfigError(f"{runconfig.file_name} uses Framework: PySpark, but '{self.compute.name}' is a "
                              "slurm target, which runs plain Python", hint="set Framework: Python")
        settings = self.slurm
        self._plan(runconfig, conda_file)
        host = self.session(lambda _line: None).host()
        check_request(host, settings, source=self.compute.file_name)

    # -- runs -----------------------------------------------------------------------------------------
    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        assert self._env is not None, "ensure_environment runs before submit"
        return [self._env.python, "-u", *spec.argv]

    def environment(self, spec: RunSpec, *, remote_dir: str, shared: str | None) -> dict[str, str]:
        return run_environment(spec.env, RunLayout(outputs_dir=posixpath.join(remote_dir, "project", "outputs"),
                                                   metrics_file=posixpath.join(remote_dir, METRICS_FILE),
                                                   runtime_dir=None, shared_dir=shared))

    def submit(self, spec: RunSpec, progress: Progress) -> SlurmRun:
        if self._env is None:
            self.ensure_environment(spec, progress)
        session = self.session(progress, run_id=spec.run_id)
        session.run_id, session.progress = spec.run_id, progress
        host = session.host()
        root = self.shared_root(host.conn.home())
        remote_dir = posixpath.join(root, "runs", spec.run_id)
        with removed_on_failure(host, [remote_dir], root, self.close):
            job_id = self._start_job(spec, host, remote_dir, progress)
        self._session = None  # the run's handle owns the connection from here on
        return SlurmRun(session=session, run_id=spec.run_id, remote_dir=remote_dir, local_run_dir=spec.run_dir,
                        job_id=job_id, shared_root=root)

    def _start_job(self, spec: RunSpec, host: RemoteHost, remote_dir: str, progress: Progress) -> int:
        self.stage_job(spec, host, remote_dir, progress)
        job_id = self.sbatch(host, posixpath.join(remote_dir, SCRIPT_FILE))
        progress(f"submitted Slurm job {job_id}")
        ControlLog(spec.run_dir / CONTROL_LOG).write(f"sbatch: job {job_id} ({remote_dir}/{SCRIPT_FILE})")
        return job_id

    def stage_job(self, spec: RunSpec, host: RemoteHost, remote_dir: str, progress: Progress) -> None:
        """The run's folder on the shared directory: the project, its batch script and its 0600 env file."""
        home = host.conn.home()
        script = render_batch_script(self.slurm, run_dir=remote_dir, argv=self.command(spec, home=home),
                                     job_name=f"amlexec-{spec.run_id}")
        entries = self.upload_entries(spec) + sync.from_bytes({SCRIPT_FILE: script.encode()})
        env = self.stage_run_folder(spec, host, remote_dir, entries, progress)
        host.write_private(posixpath.join(remote_dir, ENV_FILE), env)

    def sbatch(self, host: RemoteHost, script_path: str) -> int:
        """Submit a batch script; its job id, or ConfigError with sbatch's own words."""
        done = host.conn.run(sbatch_argv(script_path), timeout=120)
        if done.status != 0:
            raise ConfigError(f"sbatch refused the job: {_sbatch_message(done.text())}",
                             hint=f"check the job's settings in {self.compute.file_name} (partition, nodeCount, "
                             "memory, timeLimit, account, qos, sbatchOptions)")
        return parse_job_id(done.stdout.decode("utf-8", "replace"))

    def submit_array(self, specs: Sequence[RunSpec], *, max_concurrent: int, progress: Progress) -> list[SlurmRun]:
        """A sweep's trials as one job array, at most `max_concurrent` tasks at once (Slurm enforces it):
        each task's handle, in the order of `specs`. See array.py."""
        return submit_array(self, specs, max_concurrent=max_concurrent, progress=progress)

    def restore(self, state: dict[str, Any]) -> SlurmRun:
        return SlurmRun.restore(state, self.settings(state))

    def run_handle(self, *, session: Session, spec: RunSpec, remote_dir: str, pgid: int) -> SlurmRun:
        raise AssertionError("SlurmTarget.submit makes its handle itself")  # SshTarget.submit is not used


@contextlib.contextmanager
def removed_on_failure(host: RemoteHost, folders: Sequence[str], root: str,
                       close: Callable[[], None]) -> Iterator[None]:
    """A job being submitted: if that fails, nothing runs, so its half-made run folders (and env files) are
    removed from the shared directory, best effort, and the connection closed. (The SSH helper's own
    `remove` only removes below ~/.amlexec/runs; a sharedDirectory may be anywhere.)"""
    try:
        yield
    except BaseException:
        ours = [f for f in folders if below(f, root, "runs") or below(f, root, "arrays")]
        if ours:
            with contextlib.suppress(Exception):  # the failure that got us here says more
                host.conn.run(["rm", "-rf", "--", *ours], timeout=60)
        close()
        raise


def check_request(host: RemoteHost, settings: SlurmSettings, *, source: str) -> None:
    """The partition exists and can hold the job, and `sbatch --test-only` accepts it; ConfigError naming the
    `.compute` file otherwise. One SSH command for both questions."""
    line = f"{_PARTITIONS}; echo {_SEPARATOR}; {shlex.join(dry_run_argv(settings))} 2>&1"
    done = host.conn.run(["sh", "-c", line], timeout=60)
    listing, _, verdict = done.stdout.decode("utf-8", "replace").partition(_SEPARATOR)
    problem = request_problem(settings, parse_partitions(listing), accepted=done.status == 0, verdict=verdict,
                              source=source, where=host.display)
    if problem is not None:
        raise problem


def request_problem(settings: SlurmSettings, partitions: list[Partition], *, accepted: bool, verdict: str,
                    source: str, where: str) -> ConfigError | None:
    """What is wrong with the job's request, given the cluster's partitions and `sbatch --test-only`'s
    verdict; None when it can run (now or once nodes are free)."""
    names = [p.name for p in partitions]
    if settings.partition:
        chosen = next((p for p in partitions if p.name == settings.partition), None)
        if chosen is None:
            return ConfigError(f"{source}: partition '{settings.partition}' does not exist on {where}",
                               hint=f"set partition to one of: {', '.join(names) or '(none listed)'}")
    else:
        chosen = next((p for p in partitions if p.default), None)
    if chosen is not None:
        limit = min(chosen.total_nodes, chosen.max_nodes or chosen.total_nodes)
        if settings.node_count > limit:
            return ConfigError(f"{source}: nodeCount {settings.node_count} can never run: partition '{chosen.name}' "
                               f"has {limit} node{'s' if limit != 1 else ''}",
                               hint=f"set nodeCount to at most {limit}, or choose a bigger partition "
                               f"({', '.join(names)})")
    if not accepted:
        return ConfigError(f"{source}: Slurm would refuse the job: {_sbatch_message(verdict)}",
                           hint="check partition, nodeCount, tasksPerNode, cpusPerTask, memory, timeLimit, account, "
                           "qos and sbatchOptions there; `amlexec computetarget show NAME --status` shows the cluster")
    return None


def _sbatch_message(text: str) -> str:
    """sbatch's own words, without its repeated prefixes, on one line."""
    lines = [line.removeprefix("sbatch: error: ").removeprefix("sbatch: ").strip()
             for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines)[-400:] or "(no message)"
