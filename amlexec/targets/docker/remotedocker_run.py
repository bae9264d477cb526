"""A run in a container on a remote Docker host: the RunHandle of the `remotedocker` target.

The container runs in the host's Docker engine, so it does not depend on the SSH connection that started
it. Every operation is the local docker target's (`DockerRun`), bound to an SDK client over the current
connection (`image.sshengine`) and run through the SSH `Session`, which reconnects after a drop and gives
up (the run is then `Unreachable`) when the host stays away.

Output: the engine's log endpoint replays a container's output from its start, in the order written, so
after a reconnect the stream is read again and the bytes the local driver log already holds are skipped:
the driver log stays a byte-exact prefix of the container's output, nothing is lost or printed twice.
Whoever appends to the driver log holds an flock on it (as for the `remote` target).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ...errors import AmlexecError, UnavailableError
from ...fsutil import atomic_write
from ...image.engine import Engine, sdk_errors
from ...image.sshengine import ssh_client
from ...transport import logfollow
from ...transport.remotehost import RemoteHost
from ...transport.ssh import SshSettings, is_connection_error
from ..base import DRIVER_LOG, METRICS_FILE, RUNNING, Exited, Poll, Sink, Vanished
from ..ssh.run import SshRunHandle
from .container import METRICS_PATH
from .run import DockerRun, every

T = TypeVar("T")
WAIT_POLL_SECONDS = 0.5
PING_EVERY_SECONDS = 5.0
LIVE_METRICS_SECONDS = 1.0  # one archive request a second over SSH: cheap next to the log stream


class _EngineAnswer(Exception):
    """The engine answered with an error (404, 409...): a fact about the run, never worth reconnecting for.
    The SDK's APIError derives from OSError, which the session would take for a lost connection."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class RemoteDockerRun(SshRunHandle):
    def __init__(self, *, container: str, container_id: str, keep: bool,
                 engine: tuple[RemoteHost, Engine] | None = None, **shared: Any) -> None:
        super().__init__(**shared)
        self.container = container
        self.container_id = container_id
        self.keep = keep
        self._engine = engine  # the SDK client of the connection it was made on

    @classmethod
    def restore(cls, state: dict[str, Any], settings: SshSettings) -> RemoteDockerRun:
        return cls(container=state["container"], container_id=state["container_id"], keep=bool(state.get("keep")),
                   **cls.restored(state, settings))

    def state(self) -> dict[str, Any]:
        return {**super().state(), "container": self.container, "container_id": self.container_id,
                "keep": self.keep}

    # -- the engine over the current connection ----------------------------------------------------
    def _docker(self, host: RemoteHost) -> DockerRun:
        if self._engine is None or self._engine[0] is not host:
            self._close_engine()
            self._engine = (host, Engine.from_client(ssh_client(host.conn), name=host.display))
        return self._run_on(self._engine[1])

    def _run_on(self, engine: Engine) -> DockerRun:
        return DockerRun(engine=engine, container=self.container, container_id=self.container_id,
                         run_dir=self.local_run_dir, workdir=self.local_run_dir, keep=self.keep, mounted=False)

    def _close_engine(self) -> None:
        if self._engine is not None:
            with contextlib.suppress(Exception):  # a client on a dead connection may fail to close
                self._engine[1].client.close()
            self._engine = None

    def _do(self, fn: Callable[[DockerRun], T], *, what: str, patient: bool | None = None) -> T:
        keep_trying = self.patient if patient is None else patient

        def attempt(host: RemoteHost) -> T:
            errors = sdk_errors()
            try:
                return fn(self._docker(host))
            except errors.APIError as exc:
                raise _EngineAnswer(exc) from exc
            except AmlexecError:
                raise
            except Exception as exc:
                if not host.conn.alive:
                    raise EOFError("the connection dropped") from exc
                if is_connection_error(exc) or isinstance(exc, errors.DockerException) or _is_http_error(exc):
                    # The host answers but its engine does not (dockerd stopped, `docker` gone from PATH).
                    raise UnavailableError(f"the Docker engine on {host.display} does not answer: {exc}") from exc
                raise

        try:
            return self.session.do(attempt, what=what, budget=None if keep_trying else 0.0)
        except _EngineAnswer as answer:
            error = answer.error
            raise UnavailableError(f"the Docker engine on {self.session.settings.display} refused "
                                   f"{what}: {getattr(error, 'explanation', None) or error}") from error

    # -- output -------------------------------------------------------------------------------------
    def _send(self, offset: int, emit: Sink, appending: bool, *, patient: bool | None = None) -> None:
        """The container's output from byte `offset` until it ends (a `logfollow.Source`)."""
        done = offset

        def one_pass(run: DockerRun) -> Poll:
            nonlocal done
            assert self._engine is not None
            with _watchdog(self._engine[0]):
                for name, data in logfollow.skip(run._frames(), done):
                    emit(name, data)
                    done += len(data)
            # The engine ends the stream when the container stops, and a dead connection ends it too.
            assert self._engine is not None
            if not self._engine[0].conn.alive:
                raise EOFError("the connection dropped while streaming")
            return run.poll()

        while self._do(one_pass, what="streaming the run's output", patient=patient) == RUNNING:
            # The stream ended while the container still runs (the engine restarted, or rotated its log):
            # read it again, skipping what we have.
            time.sleep(WAIT_POLL_SECONDS)

    def stream(self, sink: Sink) -> None:
        with self._live_metrics():
            super().stream(sink)

    @contextlib.contextmanager
    def _live_metrics(self) -> Iterator[None]:
        """While the run streams, its metrics file is read out of the running container about once a
        second and the run folder's copy replaced when it grew, so `history info` of a running run and a
        sweep's early termination see what it logged, as on every other target. The reads go over the
        connection the output streams on (its own channel of it); a read that fails is tried again at the
        next tick, and collect() replaces the copy with the final file."""
        def follow() -> None:
            engine = self._engine
            if engine is None or not engine[0].conn.alive:
                return  # reconnecting: the stream's own retry makes a new client
            with contextlib.suppress(Exception):  # a tick missed is made up by the next one
                self._refresh_metrics(engine[1])

        with every(LIVE_METRICS_SECONDS, follow):
            yield

    def _refresh_metrics(self, engine: Engine) -> None:
        data = self._run_on(engine).read_file(METRICS_PATH)
        dest = self.local_run_dir / METRICS_FILE
        have = dest.stat().st_size if dest.exists() else 0
        if data is not None and len(data) > have:  # the file only grows while the script runs
            atomic_write(dest, data)

    def _send_rest(self, offset: int, emit: Sink, appending: bool) -> None:
        """The ended container's output from byte `offset` (collect time)."""
        def rest(run: DockerRun) -> bytes:
            if run._inspect() is None:
                return b""
            return bytes(run.engine.client.api.logs(self.container_id, stdout=True, stderr=True, follow=False))

        data = self._do(rest, what="collecting the run's files")
        emit("stdout", data[offset:])

    # -- lifecycle ----------------------------------------------------------------------------------
    def poll(self) -> Poll:
        return self._do(lambda run: run.poll(), what="checking the run")

    def wait(self) -> int:
        while True:
            status = self.poll()
            if isinstance(status, Exited):
                return status.code
            if isinstance(status, Vanished):
                raise AmlexecError(f"the run's container {self.container} on {self.session.settings.display} "
                                   "is gone or never started, so its exit code is unknown",
                                   hint="something outside amlexec removed it (docker rm, a prune)")
            time.sleep(WAIT_POLL_SECONDS)

    def cancel(self) -> None:
        """Stop the container (SIGTERM, SIGKILL after the grace period) and check that it has stopped."""

        def stop(run: DockerRun) -> None:
            run.cancel()
            if run.poll() == RUNNING:
                raise AmlexecError(f"the run's container {self.container} on {self.session.settings.display} "
                                   "is still running after `docker stop`", hint="check the Docker engine there")

        self._do(stop, what="canceling the run")

    # -- files --------------------------------------------------------------------------------------
    def collect(self, run_dir: Path) -> list[str]:
        """The rest of the driver log, then `outputs/` and the metrics file, out of the (ended) container."""

        def work(run: DockerRun) -> list[str]:
            if run._inspect() is None:
                return [f"the container {self.container} is gone, so its outputs/ and metrics could not be "
                        "collected"]
            return run.collect(run_dir)

        logfollow.complete(run_dir / DRIVER_LOG, self._send_rest)
        return self._do(work, what="collecting the run's files")

    def cleanup(self) -> None:
        """Remove the container (unless kept) and the run's folder on the host; best effort."""

        def work(run: DockerRun) -> None:
            run.cleanup()
            assert self._engine is not None
            self._engine[0].check("remove", self.remote_dir)

        try:
            self._best_effort(lambda: self._do(work, what="removing the run's container", patient=False))
        finally:
            self._close_engine()
            self.session.close()


def _is_http_error(exc: BaseException) -> bool:
    import urllib3.exceptions

    return isinstance(exc, urllib3.exceptions.HTTPError)


@contextlib.contextmanager
def _watchdog(host: RemoteHost) -> Iterator[None]:
    """While a read waits with no deadline (the log stream), ping the host now and then, and close the
    connection when it stops answering: the read then ends, and the session reconnects or gives up."""
    stop = threading.Event()
    timeout = max(host.conn.settings.connect_timeout, 2.0)

    def watch() -> None:
        while not stop.wait(PING_EVERY_SECONDS):
            if not host.conn.ping(timeout) and not stop.is_set():
                host.conn.close()
                return

    thread = threading.Thread(target=watch, daemon=True, name="amlexec-ssh-watchdog")
    thread.start()
    try:
        yield
    finally:
        stop.set()
