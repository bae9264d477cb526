"""A run on an SSH host that outlives its connection: the RunHandle shared by the SSH targets.

The run's output goes to `output.log` on the host (stdout and stderr in the order the script wrote them,
as Workbench's driver log had them). The handle only reads it from an offset (`_send`, `_send_rest`); the
one log follower (`transport.logfollow`) keeps the local driver log a byte-exact prefix of it while
streaming, reattaching (`history logs --follow`) and collecting, so a dropped connection loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ...errors import AmlexecError
from ...transport import detached, logfollow
from ...transport.remotehost import RemoteHost
from ...transport.session import Session
from ...transport.ssh import SshSettings, is_connection_error
from ..base import DRIVER_LOG, METRICS_FILE, RUNNING, VANISHED, Exited, Poll, Sink
from ..outputs import MAX_OUTPUT_FILE_BYTES

T = TypeVar("T")
POLL_MIN_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5
STATUS_EVERY_SECONDS = 5.0
METRICS_EVERY_SECONDS = 1.0


class SshRunHandle:
    """What the handles of runs on an SSH host share (the `remote` and `cluster` runs, and remotedocker's
    containers): the session they are followed over, the run's folders on both machines, and
    `stream`/`reattach_stream`/completing the driver log through the one log follower
    (`transport.logfollow`) over the subclass's `_send`: the run's output from a byte offset on.
    """

    def __init__(self, *, session: Session, run_id: str, remote_dir: str, local_run_dir: Path,
                 patient: bool = True) -> None:
        self.session = session
        self.run_id = run_id
        self.remote_dir = remote_dir
        self.local_run_dir = local_run_dir
        # The process that submitted the run waits out a dropped connection; one that only looks at a
        # run (`history list`, `info`) asks once and reports the host as unreachable.
        self.patient = patient

    @staticmethod
    def restored(state: dict[str, Any], settings: SshSettings) -> dict[str, Any]:
        """The shared constructor arguments of a handle restored from run history (never patient)."""
        return {"session": Session(settings, run_id=state["run_id"]), "run_id": state["run_id"],
                "remote_dir": state["remote_dir"], "local_run_dir": Path(state["run_dir"]), "patient": False}

    def state(self) -> dict[str, Any]:
        s = self.session.settings
        return {"host": s.host, "port": s.port, "user": s.username, "run_id": self.run_id,
                "remote_dir": self.remote_dir, "run_dir": str(self.local_run_dir)}

    def _send(self, offset: int, emit: Sink, appending: bool, *, patient: bool | None = None) -> None:
        """Send the run's output from byte `offset` to `emit` until it ends (a `logfollow.Source`)."""
        raise NotImplementedError  # abstract: each handle reads its own kind of output

    def kill_at_once(self) -> None:
        return None  # the host's helper already ends the run's process group with SIGKILL after a grace

    def properties(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def _best_effort(remove: Callable[[], object]) -> None:
        """Cleanup once the run is recorded: a host that is gone or refuses is not worth an error."""
        try:
            remove()
        except AmlexecError:
            pass
        except Exception as exc:
            if not is_connection_error(exc):
                raise

    def stream(self, sink: Sink) -> None:
        logfollow.stream(self.local_run_dir / DRIVER_LOG, self._send, sink)

    def reattach_stream(self, sink: Sink, offset: int) -> int:
        """Continue the output from byte `offset` of the driver log until the run ends; the new offset."""
        return logfollow.reattach(self.local_run_dir / DRIVER_LOG, partial(self._send, patient=True), sink, offset)

    def _send_rest(self, offset: int, emit: Sink, appending: bool) -> None:
        """The run's output from byte `offset` to its end, the run having ended (collect time)."""
        raise NotImplementedError  # abstract: each handle reads its own kind of output


class SshRun(SshRunHandle):
    """A run started by the helper's `launch` in `remote_dir` on the host."""

    def __init__(self, *, pgid: int | None, **shared: Any) -> None:
        super().__init__(**shared)
        self.pgid = pgid

    @classmethod
    def restore(cls, state: dict[str, Any], settings: SshSettings) -> SshRun:
        return cls(pgid=state.get("pgid"), **cls.restored(state, settings))

    def state(self) -> dict[str, Any]:
        return {**super().state(), "pgid": self.pgid}

    def _remote(self, name: str) -> str:
        return posixpath.join(self.remote_dir, name)

    def _do(self, fn: Callable[[RemoteHost], T], *, what: str, patient: bool | None = None) -> T:
        keep_trying = self.patient if patient is None else patient
        return self.session.do(fn, what=what, budget=None if keep_trying else 0.0)

    # -- output -------------------------------------------------------------------------------------
    def _send(self, offset: int, emit: Sink, appending: bool, *, patient: bool | None = None) -> None:
        log_path, code_path = self._remote(detached.OUTPUT_LOG), self._remote(detached.EXIT_CODE)
        delay, ended = POLL_MIN_SECONDS, False
        last_status = last_metrics = time.monotonic()
        while True:
            chunk = self._do(partial(_read_from, path=log_path, at=offset), what="reading the run's output",
                             patient=patient)
            if chunk:
                emit("stdout", chunk)
                offset += len(chunk)
                delay = POLL_MIN_SECONDS
                continue
            if ended:  # the exit code is written after the command's last byte: the log is complete
                return
            now = time.monotonic()
            if appending and now - last_metrics >= METRICS_EVERY_SECONDS:
                self._do(self._pull_metrics, what="reading the run's metrics", patient=patient)
                last_metrics = now
            ended = self._do(lambda h: h.size(code_path) is not None, what="checking the run", patient=patient)
            if ended:
                continue
            if now - last_status >= STATUS_EVERY_SECONDS:
                last_status = now
                if self._status(patient=patient).state in ("vanished", "missing"):
                    return
            time.sleep(delay)
            delay = min(delay * 1.5, POLL_MAX_SECONDS)

    def _send_rest(self, offset: int, emit: Sink, appending: bool) -> None:
        path = self._remote(detached.OUTPUT_LOG)
        while chunk := self._do(partial(_read_from, path=path, at=offset), what="collecting the run's files"):
            emit("stdout", chunk)
            offset += len(chunk)

    def _pull_metrics(self, host: RemoteHost) -> None:
        """Append what the run logged since the last look, so `history info` shows live metrics."""
        local = self.local_run_dir / METRICS_FILE
        have = local.stat().st_size if local.exists() else 0
        remote = self._remote(METRICS_FILE)
        size = host.size(remote)
        if size is not None and size > have:
            data = host.read_from(remote, have, limit=size - have)
            with open(local, "ab") as fh:
                fh.write(data)

    # -- lifecycle ----------------------------------------------------------------------------------
    def _status(self, *, patient: bool | None = None) -> detached.RemoteStatus:
        return self._do(lambda h: detached.status(h, self.remote_dir, self.run_id), what="checking the run",
                        patient=patient)

    def wait(self) -> int:
        while True:
            status = self._status()
            if status.state == "exited" and status.code is not None:
                return status.code
            if status.state != "running":
                raise AmlexecError(f"the run's process on {self.session.settings.display} ended without an "
                                   "exit code (killed from outside, or the host restarted)")
            time.sleep(1.0)

    def poll(self) -> Poll:
        status = self._status()
        if status.state == "running":
            return RUNNING
        return Exited(status.code) if status.state == "exited" and status.code is not None else VANISHED

    def cancel(self) -> None:
        self._do(lambda h: detached.cancel(h, self.remote_dir, self.run_id), what="canceling the run")

    # -- files --------------------------------------------------------------------------------------
    def collect(self, run_dir: Path) -> list[str]:
        """Bring the rest of the driver log, the metrics file and `outputs/` into `run_dir`."""
        warnings: list[str] = []

        def work(host: RemoteHost) -> None:
            warnings.clear()
            self._pull_metrics(host)
            warnings.extend(_download_tree(host, self._remote("project/outputs"), run_dir / "outputs"))

        logfollow.complete(run_dir / DRIVER_LOG, self._send_rest)
        self._do(work, what="collecting the run's files")
        return warnings

    def cleanup(self) -> None:
        """Remove the run's folder on the host; best effort, as the run is already recorded."""
        try:
            self._best_effort(lambda: self._do(lambda h: h.check("remove", self.remote_dir),
                                               what="removing the run's folder", patient=False))
        finally:
            self.session.close()


def _download_tree(host: RemoteHost, remote: str, local: Path, shown: str = "outputs") -> list[str]:
    """Copy a remote folder into `local`, keeping Workbench's cap per file; warnings for skipped files."""
    sftp = host.conn.sftp()
    warnings: list[str] = []
    try:
        entries = sftp.listdir_attr(remote)
    except FileNotFoundError:
        return warnings
    for attr in sorted(entries, key=lambda a: a.filename):
        source, target = posixpath.join(remote, attr.filename), local / attr.filename
        mode = attr.st_mode or 0
        rel = f"{shown}/{attr.filename}"
        if stat.S_ISDIR(mode):
            warnings += _download_tree(host, source, target, rel)
        elif stat.S_ISLNK(mode):
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            os.symlink(sftp.readlink(source), target)
        elif stat.S_ISREG(mode):
            size = attr.st_size or 0
            if size > MAX_OUTPUT_FILE_BYTES:
                warnings.append(f"{rel} is {size / 2**20:.0f} MiB, over the {MAX_OUTPUT_FILE_BYTES // 2**20} MiB "
                                "limit per file; it was not kept")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            sftp.get(source, str(partial))
            os.replace(partial, target)
    return warnings


def _read_from(host: RemoteHost, *, path: str, at: int) -> bytes:
    """One chunk of a remote file from an offset (a named function, so the offset is bound, not captured)."""
    return host.read_from(path, at)
