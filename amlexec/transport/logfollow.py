"""The one log follower: a run's output, as it comes, into the local driver log and to the user.

It owns one invariant: the local driver log is a byte-exact prefix of the run's output (stdout and stderr
in the order the script wrote them). Streaming, reattaching (`history logs --follow` after the supervising
amlexec died) and completing the log when a run is collected all continue "from the local log's length",
so a dropped connection or a second follower loses nothing and saves nothing twice. Whoever appends holds
an flock on the log; a second follower only reads along.

A run handle supplies only a `Source`: the run's output from a byte offset on, until it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

Emit = Callable[[str, bytes], None]
"""Takes the next chunk of the run's output: ("stdout" | "stderr", bytes)."""

Source = Callable[[int, Emit, bool], None]
"""`source(offset, emit, appending)`: send the run's output from byte `offset` to `emit` until it ends.
`appending` is True for the one follower that saves it (the one that should also pull live metrics)."""


@contextlib.contextmanager
def appender(path: Path, *, wait: bool) -> Iterator[IO[bytes] | None]:
    """The local file opened for appending under an exclusive flock; None if another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield fh


def stream(path: Path, source: Source, sink: Emit) -> int:
    """Follow the run from the end of the local log (which this process is about to start, or resumes),
    saving and printing each chunk; the log's final length."""
    with appender(path, wait=True) as log:
        assert log is not None
        return _pump(source, log, sink, os.fstat(log.fileno()).st_size)


def reattach(path: Path, source: Source, sink: Emit, offset: int) -> int:
    """Continue from byte `offset` of the local log (what the caller has printed) until the run ends: what
    the log already holds past `offset` is printed from the log, the rest comes from the source. The new
    offset. Another process appending meanwhile: only read along, saving nothing."""
    with appender(path, wait=False) as log:
        if log is None:
            return _pump(source, None, sink, offset)
        local = os.fstat(log.fileno()).st_size
        if local > offset:
            with open(path, "rb") as fh:
                fh.seek(offset)
                sink("stdout", fh.read(local - offset))
        return _pump(source, log, sink, max(offset, local))


def complete(path: Path, source: Source) -> int:
    """At collect time (the run has ended): append whatever the local log still lacks; its length."""
    return stream(path, source, lambda _stream, _data: None)


def skip(frames: Iterable[tuple[str, bytes]], offset: int) -> Iterator[tuple[str, bytes]]:
    """The chunks of an output that is read from its start (a container's log), from byte `offset` on."""
    for name, data in frames:
        if offset >= len(data):
            offset -= len(data)
            continue
        yield name, data[offset:]
        offset = 0


def _pump(source: Source, log: IO[bytes] | None, sink: Emit, offset: int) -> int:
    done = offset

    def emit(name: str, data: bytes) -> None:
        nonlocal done
        if not data:
            return
        if log is not None:
            log.write(data)
            log.flush()
        sink(name, data)
        done += len(data)

    source(offset, emit, log is not None)
    return done
