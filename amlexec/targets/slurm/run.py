"""A Slurm job as a run handle: its output followed from the job's output file on the shared directory,
its state and exit code taken from Slurm's own record (`scontrol show job -o`), canceled with `scancel`.

The job does not depend on the SSH session: every question is one command over a connection that
`Session` reopens after a drop, so Ctrl-C, a dead client or a lost connection leave the job alone, and
`history logs --follow` continues from the local driver log's length (the one log follower).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ...errors import AmlexecError, ConfigError, ExitCode, UnavailableError
from ...runs.runlog import ControlLog
from ...transport.remotehost import RemoteHost
from ...transport.ssh import SshSettings
from ..base import CONTROL_LOG, DRIVER_LOG, METRICS_FILE, RUNNING, VANISHED, Exited, Poll, Sink
from ..ssh.run import SshRun, _read_from
from .jobinfo import JobInfo, forgotten, parse_job
from .script import EXIT_CODE_FILE, NOT_SHARED_EXIT, OUTPUT_LOG, RANKS_DIR

POLL_MIN_SECONDS = 0.1
POLL_MAX_SECONDS = 0.5
METRICS_EVERY_SECONDS = 1.0
CANCEL_WAIT_SECONDS = 90.0  # scancel's SIGTERM, Slurm's KillWait, then SIGKILL


class JobEndedBySlurm(AmlexecError):
    """The job ended without the script's say (a failed node, preemption): no exit code of the script's to
    pass through. Not amlexec's fault nor the user's: the cluster was unavailable to the job, as 69 says."""

    exit_code = ExitCode.UNAVAILABLE


class SlurmRun(SshRun):
    """One batch job, or one task of a job array (`job_id` 123_4, `task_link` its name in the array's tasks
    folder); `remote_dir` is its run folder on the shared directory."""

    def __init__(self, *, job_id: int | str, shared_root: str, task_link: str | None = None, **shared: Any) -> None:
        super().__init__(pgid=None, **shared)
        self.job_id = str(job_id)
        self.shared_root = shared_root
        self.task_link = task_link
        self._info: JobInfo | None = None
        self._said: str | None = None
        self._started: Callable[[], None] | None = None

    @classmethod
    def restore(cls, state: dict[str, Any], settings: SshSettings) -> SlurmRun:
        return cls(job_id=state["job_id"], shared_root=state["shared_root"], task_link=state.get("task_link"),
                   **cls.restored(state, settings))

    def state(self) -> dict[str, Any]:
        link = {"task_link": self.task_link} if self.task_link else {}
        return {**super().state(), "job_id": _id_value(self.job_id), "shared_root": self.shared_root, **link}

    def when_started(self, started: Callable[[], None]) -> None:
        self._started = started

    # -- Slurm's record -------------------------------------------------------------------------------
    def _ask(self, host: RemoteHost) -> JobInfo | None:
        done = host.conn.run(["scontrol", "show", "job", "-o", str(self.job_id)], timeout=60)
        if done.status != 0:
            if forgotten(done.stderr.decode("utf-8", "replace")):
                return None
            raise UnavailableError(f"scontrol on {host.display} failed (exit {done.status}): {done.text()[-300:]}",
                                   hint="check that slurmctld answers: `scontrol ping` on the login node")
        info = parse_job(done.stdout.decode("utf-8", "replace"), self.job_id)
        if info is not None:
            self._info = info
        return info

    def _job(self, *, patient: bool | None = None) -> JobInfo | None:
        info = self._do(self._ask, what="asking Slurm about the job", patient=patient)
        self._tell(info)
        return info

    def _tell(self, info: JobInfo | None) -> None:
        """A line for the user each time a waiting job's state or reason changes (Resources, Priority...);
        the supervisor told (Queued -> Running) when the job is first seen out of the queue."""
        if info is None:
            return
        if not info.queued and self._started is not None:
            started, self._started = self._started, None
            started()
        line = info.waiting() if info.queued else (f"job {info.job_id} is running on {info.nodes}"
                                                   if info.state == "RUNNING" else None)
        if line is None or line == self._said:
            return
        self._said = line
        self.session.progress(line)
        with contextlib.suppress(AmlexecError, OSError):
            ControlLog(self.local_run_dir / CONTROL_LOG).write(f"slurm: {line}")

    def _exit_file(self, host: RemoteHost) -> int | None:
        """The exit code the batch script wrote itself: what is left once scontrol forgot the job."""
        text = host.read_from(self._remote(EXIT_CODE_FILE), 0).decode(errors="replace").strip()
        return int(text) if text.lstrip("-").isdigit() else None

    # -- output ---------------------------------------------------------------------------------------
    def _send(self, offset: int, emit: Sink, appending: bool, *, patient: bool | None = None) -> None:
        path = self._remote(OUTPUT_LOG)
        delay, ended = POLL_MIN_SECONDS, False
        last_metrics = time.monotonic()
        while True:
            chunk = self._do(partial(_read_from, path=path, at=offset), what="reading the job's output",
                             patient=patient)
            if chunk:
                emit("stdout", chunk)
                offset += len(chunk)
                delay = POLL_MIN_SECONDS
                continue
            if ended:  # asked after the job ended: the file is complete
                return
            now = time.monotonic()
            if appending and now - last_metrics >= METRICS_EVERY_SECONDS:
                self._do(self._pull_metrics, what="reading the run's metrics", patient=patient)
                last_metrics = now
            info = self._job(patient=patient)
            ended = info is None or info.ended
            if not ended:
                time.sleep(delay)
                delay = min(delay * 1.5, POLL_MAX_SECONDS)

    # -- lifecycle ------------------------------------------------------------------------------------
    def _outcome(self, info: JobInfo | None, host: RemoteHost) -> Poll:
        if info is None:  # scontrol forgot it (MinJobAge): the script's own record, if it wrote one
            code = self._exit_file(host)
            return VANISHED if code is None else Exited(code)
        if not info.ended:
            return RUNNING
        killed = info.killed_reason
        if killed is not None:
            return Exited(info.exit_code, reason=f"job {self.job_id} {killed}")
        if info.exit_code != 0 and (info.exit_status == NOT_SHARED_EXIT or host.size(self._remote(OUTPUT_LOG)) is None):
            return Exited(info.exit_code, reason=self._not_shared(info))
        return Exited(info.exit_code)

    def _not_shared(self, info: JobInfo) -> str:
        return (f"job {self.job_id} on {info.nodes or 'its node'} could not see the run's folder "
                f"{self.remote_dir}: the sharedDirectory {self.shared_root} is not shared with the compute nodes")

    def poll(self) -> Poll:
        """The job's state; like streaming, it says when the job left the queue (a poll is all a run whose
        supervisor died gets: `history` reads then record it Running)."""
        def ask(host: RemoteHost) -> Poll:
            info = self._ask(host)
            self._tell(info)
            return self._outcome(info, host)

        return self._do(ask, what="asking Slurm about the job")

    def wait(self) -> int:
        delay = POLL_MIN_SECONDS
        while True:
            status = self.poll()
            if isinstance(status, Exited):
                if status.reason is not None:
                    raise self._failure(status.reason)
                return status.code
            if status is VANISHED:
                raise UnavailableError(f"Slurm no longer knows job {self.job_id} and it left no exit code",
                                       hint="the job ended long ago (MinJobAge) or was removed; its output is in "
                                       "the driver log")
            time.sleep(delay)
            delay = min(delay * 1.5, POLL_MAX_SECONDS)

    def _failure(self, reason: str) -> AmlexecError:
        if "not shared" in reason:
            return ConfigError(reason, hint="set sharedDirectory in the target's .compute file to a folder every "
                               "node mounts at the same path (the cluster's NFS home or scratch)")
        if "time limit" in reason:
            return ConfigError(reason, hint="raise timeLimit in the target's .compute file (sbatch --time), or "
                               "let the script save its state and resume")
        if "memory" in reason:
            return ConfigError(reason, hint="raise memory in the target's .compute file (sbatch --mem)")
        return JobEndedBySlurm(reason, hint="submit the run again; `amlexec computetarget show NAME --status` "
                               "shows the cluster's nodes")

    def cancel(self) -> None:
        """scancel the job, then wait until Slurm says it has ended."""
        def stop(host: RemoteHost) -> None:
            info = self._ask(host)
            if info is not None and not info.ended:
                done = host.conn.run(["scancel", str(self.job_id)], timeout=60)
                if done.status != 0:
                    raise UnavailableError(f"scancel {self.job_id} failed: {done.text()[-300:]}",
                                           hint="cancel it on the login node: scancel " + str(self.job_id))

        self._do(stop, what="canceling the job")
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while time.monotonic() < deadline:
            info = self._do(self._ask, what="waiting for the job to end")
            if info is None or info.ended:
                return
            time.sleep(0.2)
        raise UnavailableError(f"job {self.job_id} did not end within {CANCEL_WAIT_SECONDS:.0f}s of scancel",
                               hint=f"check it on the login node: scontrol show job {self.job_id}")

    # -- files ----------------------------------------------------------------------------------------
    def collect(self, run_dir: Path) -> list[str]:
        warnings = super().collect(run_dir)
        files = self._do(self._rank_files, what="collecting the ranks' logs and metrics")
        if files:
            keep_rank_files(run_dir, files)
        return warnings

    def _rank_files(self, host: RemoteHost) -> dict[str, bytes]:
        """The ranks' own files (rank_N.txt, metrics_rank_N.jsonl); none for a one-task job."""
        try:
            names = host.conn.sftp().listdir(self._remote(RANKS_DIR))
        except FileNotFoundError:
            return {}
        files = {}
        for name in sorted(names):
            data, offset = b"", 0
            while chunk := host.read_from(self._remote(f"{RANKS_DIR}/{name}"), offset):
                data, offset = data + chunk, offset + len(chunk)
            files[name] = data
        return files

    def properties(self) -> dict[str, Any]:
        info = self._info
        if info is None:
            with contextlib.suppress(AmlexecError):
                info = self._do(self._ask, what="asking Slurm about the job", patient=False)
        props: dict[str, Any] = {"slurm_job_id": _id_value(self.job_id)}
        if info is not None:
            props.update(slurm_partition=info.partition, slurm_nodelist=info.nodes, slurm_state=info.state)
        return props

    def cleanup(self) -> None:
        """Remove the run's folder (env file included) from the shared directory, and an array task's link
        to it (with the array's tasks folder once it is empty); best effort."""
        run = self.remote_dir if below(self.remote_dir, self.shared_root, "runs") else ""
        link = self.task_link if self.task_link and below(self.task_link, self.shared_root, "arrays") else ""
        argv = ["sh", "-c", _CLEANUP, "amlexec-cleanup", run, link] if run or link else []
        try:
            if argv:
                self._best_effort(lambda: self._do(lambda h: h.conn.run(argv, timeout=120),
                                                   what="removing the run's folder", patient=False))
        finally:
            self.session.close()


# The run's folder, then the array task's link; the last task to go removes the array's tasks folder (its
# batch script was copied by sbatch at submit, so nothing needs it any more).
_CLEANUP = """[ -n "$1" ] && rm -rf -- "$1"
if [ -n "$2" ]; then
    rm -f -- "$2"
    [ -z "$(ls -A -- "${2%/*}" | grep -vx array.sh)" ] && rm -rf -- "${2%/*}"
fi
true"""


def below(path: str, root: str, folder: str) -> bool:
    """Whether `path` is inside `<root>/<folder>/`: the only places amlexec removes on the shared directory."""
    return path.startswith(posixpath.join(root, folder) + "/") and "/.." not in path


def _id_value(job_id: str) -> int | str:
    """A job id as run history keeps it: a number for a job, `123_4` text for an array task."""
    return int(job_id) if job_id.isdigit() else job_id


_RANK_LOG = re.compile(r"rank_(\d+)\.txt\Z")
_RANK_METRICS = re.compile(r"metrics_rank_(\d+)\.jsonl\Z")


def keep_rank_files(run_dir: Path, files: dict[str, bytes]) -> None:
    """Every rank's log as logs/rank_N.txt (rank 0's is the driver log), and the other ranks' metrics added to
    the run's, each name tagged with its rank (`loss@rank1`; rank 0's names stay as they are)."""
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    driver = run_dir / DRIVER_LOG
    if driver.exists():
        (logs / "rank_0.txt").write_bytes(driver.read_bytes())
    tagged: list[bytes] = []
    for name, data in sorted(files.items()):
        if _RANK_LOG.match(name):
            (logs / name).write_bytes(data)
        elif found := _RANK_METRICS.match(name):
            tagged += [tag_metric(line, int(found.group(1))) for line in data.splitlines(keepends=True)]
    if tagged:
        with open(run_dir / METRICS_FILE, "ab") as fh:
            fh.write(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in tagged))


def tag_metric(line: bytes, rank: int) -> bytes:
    """One metrics line with its name tagged by rank; a line that is not a metric stays as it is (reading the
    metrics file skips it and says so)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return line
    entry["name"] = f"{entry['name']}@rank{rank}"
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
