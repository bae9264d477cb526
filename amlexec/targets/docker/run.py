"""A run in a container on a Docker engine: stream, wait, cancel, collect and clean up.

Everything is addressed by container name/id, so a handle restored from run history in another amlexec
process (`experiment cancel`, `history logs --follow`, a refresh) works on the same container.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...errors import AmlexecError, NotFoundError
from ...fsutil import append_new_bytes
from ...image.engine import Engine, engine_down
from ...transport import logfollow
from ..base import DRIVER_LOG, METRICS_FILE, RUNNING, VANISHED, Exited, Poll, Sink
from ..outputs import MAX_OUTPUT_FILE_BYTES, collect_outputs
from .container import METRICS_PATH, OUTPUTS_DIR, ChunkReader, extract_tree, single_file

STOP_GRACE_SECONDS = 10
LIVE_METRICS_SECONDS = 0.5
_STREAMS = {1: "stdout", 2: "stderr"}


@contextlib.contextmanager
def every(seconds: float, tick: Callable[[], None]) -> Iterator[None]:
    """Call `tick` every `seconds` on a thread of its own while the block runs (the live metrics copy of a
    streaming run); the block's end stops it and waits for a tick in progress, so none outlives the run."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(seconds):
            tick()

    thread = threading.Thread(target=loop, name="amlexec-live-metrics", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class DockerRun:
    def __init__(self, *, engine: Engine, container: str, container_id: str, run_dir: Path, workdir: Path,
                 keep: bool, mounted: bool, state_dir: Path | None = None) -> None:
        self.engine = engine
        self.container = container
        self.container_id = container_id
        self.run_dir = run_dir
        self.workdir = workdir
        self.keep = keep
        self.mounted = mounted  # the snapshot copy is mounted: outputs/ are on this machine already
        self.state_dir = state_dir  # the mounted folder holding the metrics file (HostFolders), if any
        self._removing: threading.Thread | None = None

    @classmethod
    def from_state(cls, engine: Engine, state: dict[str, Any]) -> DockerRun:
        folder = state.get("state_dir")
        return cls(engine=engine, container=state["container"], container_id=state["container_id"],
                   run_dir=Path(state["run_dir"]), workdir=Path(state["workdir"]), keep=bool(state.get("keep")),
                   mounted=bool(state.get("mounted")), state_dir=Path(folder) if folder else None)

    def state(self) -> dict[str, Any]:
        found = {"container": self.container, "container_id": self.container_id, "run_dir": str(self.run_dir),
                 "workdir": str(self.workdir), "keep": self.keep, "mounted": self.mounted}
        if self.state_dir is not None:
            found["state_dir"] = str(self.state_dir)
        return found

    @property
    def _api(self) -> Any:
        return self.engine.api

    # -- output ---------------------------------------------------------------------------------------
    def _frames(self) -> Iterator[tuple[str, bytes]]:
        """(stream name, bytes) from the container's start until it ends, stdout and stderr kept apart.

        The logs endpoint (with follow) replays what was written before we asked, so nothing is lost
        between `start` and this call, and it works on a container that already ended. Its multiplexed
        frames are an 8-byte header (stream id, 3 zero bytes, big-endian length) and the data.
        """
        errors = self.engine.errors
        try:
            response = self.engine.follow_logs(self.container_id)
        except errors.NotFound as exc:
            raise NotFoundError(f"the run's container {self.container} is gone") from exc
        try:
            while True:
                header = response.read(8)
                if len(header) < 8:
                    return
                stream_id, length = struct.unpack(">BxxxL", header)
                data = response.read(length) if length else b""
                if length and not data:
                    return
                if data:
                    yield _STREAMS.get(stream_id, "stdout"), data
        finally:
            response.close()

    def _send(self, offset: int, emit: Sink, appending: bool) -> None:
        """The container's output from byte `offset` until it ends (a `logfollow.Source`)."""
        for name, data in logfollow.skip(self._frames(), offset):
            emit(name, data)

    def _send_if_there(self, offset: int, emit: Sink, appending: bool) -> None:
        with contextlib.suppress(NotFoundError):  # removed meanwhile: the refresh that follows says so
            self._send(offset, emit, appending)

    def stream(self, sink: Sink) -> None:
        with self._live_metrics():
            logfollow.stream(self.run_dir / DRIVER_LOG, self._send, sink)

    @contextlib.contextmanager
    def _live_metrics(self) -> Iterator[None]:
        """While the run streams, what it logs reaches its run folder within a second, as on every other
        target: `history info` of a running run and a sweep's early termination read it there. Only the
        mounted metrics file can be followed cheaply; collect() replaces the copy with the final file."""
        if self.state_dir is None:
            yield
            return
        source, dest = self.state_dir / METRICS_FILE, self.run_dir / METRICS_FILE

        def follow() -> None:
            with contextlib.suppress(OSError):
                append_new_bytes(source, dest)

        with every(LIVE_METRICS_SECONDS, follow):
            yield

    def reattach_stream(self, sink: Sink, offset: int) -> int:
        """`history logs --follow` after the supervising amlexec died: from byte `offset` of the driver log.

        Returns the driver log's new length, so the caller does not print the appended bytes again.
        """
        return logfollow.reattach(self.run_dir / DRIVER_LOG, self._send_if_there, sink, offset)

    # -- lifetime -------------------------------------------------------------------------------------
    def _inspect(self) -> dict[str, Any] | None:
        errors = self.engine.errors
        try:
            return self._api.inspect_container(self.container_id)
        except errors.NotFound:
            return None

    def wait(self) -> int:
        errors = self.engine.errors
        try:
            code = int(self._api.wait(self.container_id)["StatusCode"])
        except errors.NotFound as exc:
            raise NotFoundError(f"the run's container {self.container} disappeared while it ran",
                                hint="something outside amlexec removed it (docker rm, a prune)") from exc
        except errors.DockerException as exc:
            raise engine_down(exc) from exc
        if self.state_dir is not None and not self.keep:
            # Its files are on this machine: the container is not needed again, so the engine removes it
            # while the run is collected and recorded (cleanup() waits for it).
            self._removing = threading.Thread(target=self._remove, name="amlexec-remove-container")
            self._removing.start()
        return code

    def poll(self) -> Poll:
        info = self._inspect()
        if info is None:
            return VANISHED  # gone: its exit code went with it
        state = info.get("State") or {}
        if state.get("Running") or state.get("Restarting"):
            return RUNNING
        if state.get("Status") == "created" or "ExitCode" not in state:
            return VANISHED  # never started
        return Exited(int(state["ExitCode"]))

    def cancel(self) -> None:
        """Stop the container (SIGTERM, SIGKILL after the grace period); returns once it is stopped."""
        errors = self.engine.errors
        with contextlib.suppress(errors.NotFound):
            self._api.stop(self.container_id, timeout=STOP_GRACE_SECONDS)
            deadline = time.monotonic() + STOP_GRACE_SECONDS + 5
            while time.monotonic() < deadline and self.poll() == RUNNING:
                time.sleep(0.05)

    def collect(self, run_dir: Path) -> list[str]:
        """outputs/ and the metrics file, copied out of the container (which may have ended), or moved
        from the mounted folders on this machine (which hold them whether the container is there or not)."""
        if self.state_dir is None and self._inspect() is None:
            return [f"the container {self.container} is gone, so its outputs/ and metrics could not be collected"]
        warnings: list[str] = []
        if self.mounted:
            warnings += collect_outputs(self.workdir / "outputs", run_dir / "outputs")
        else:
            warnings += self._copy_out(OUTPUTS_DIR, run_dir / "outputs", "outputs")
        if self.state_dir is None:
            warnings += self._copy_out(METRICS_PATH, run_dir, METRICS_FILE)
        elif (self.state_dir / METRICS_FILE).is_file():  # collected once per run; a second collect replaces it
            shutil.copyfile(self.state_dir / METRICS_FILE, run_dir / METRICS_FILE)
        return warnings

    def _copy_out(self, path: str, dest: Path, name: str) -> list[str]:
        """Files of container `path` (a folder or one file, archived as `name`) into `dest`."""
        if name == METRICS_FILE:
            data = self.read_file(path)
            if data is not None:  # collected once per run; a second collect replaces it
                dest.mkdir(parents=True, exist_ok=True)
                (dest / name).write_bytes(data)
            return []
        errors = self.engine.errors
        try:
            chunks, _stat = self._api.get_archive(self.container_id, path)
        except errors.NotFound:
            return []  # the script wrote nothing there
        return extract_tree(ChunkReader(chunks), dest, strip=name, max_file_bytes=MAX_OUTPUT_FILE_BYTES)

    def read_file(self, path: str) -> bytes | None:
        """One file of the container (running or ended), whole; None when it is not there (yet)."""
        errors = self.engine.errors
        try:
            chunks, _stat = self._api.get_archive(self.container_id, path)
        except errors.NotFound:
            return None
        return single_file(ChunkReader(chunks))

    def kill_at_once(self) -> None:
        return None  # `docker stop` already ends in SIGKILL after its grace period

    def properties(self) -> dict[str, Any]:
        return {}

    def cleanup(self) -> None:
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if self._removing is not None:
            self._removing.join()
        elif not self.keep:
            self._remove()

    def _remove(self) -> None:
        # Best effort, after the run is recorded: a container left behind is what `experiment clean` is for.
        with contextlib.suppress(self.engine.errors.APIError, AmlexecError):
            self._api.remove_container(self.container_id, force=True)
