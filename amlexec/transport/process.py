"""Local processes: argv only (never a shell), each run in its own process group so cancel stops it all."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from ..errors import NotFoundError

CANCEL_GRACE_SECONDS = 10.0


def spawn(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
          stdout: int | IO[bytes] = subprocess.PIPE, stderr: int | IO[bytes] = subprocess.PIPE
          ) -> subprocess.Popen[bytes]:
    """Start `argv` as the leader of a new session, so Ctrl-C reaches amlexec and not the script."""
    try:
        return subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise NotFoundError(f"cannot run '{argv[0]}': no such program") from exc
    except PermissionError as exc:
        raise NotFoundError(f"cannot run '{argv[0]}': permission denied") from exc


DRAIN_SECONDS = 1.0


def pump(proc: subprocess.Popen[bytes], sink: Callable[[str, bytes], None], log: IO[bytes]) -> None:
    """Copy the child's stdout and stderr to `sink` and `log` as they arrive, until both close.

    A background process the script started may keep the pipes open after the script itself ends; once
    the script has exited, whatever is already written is drained for a moment and then the pump stops.
    """
    sel = selectors.DefaultSelector()
    for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if pipe is not None:
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ, name)
    drain_until: float | None = None
    try:
        while sel.get_map():
            if drain_until is None and proc.poll() is not None:
                drain_until = time.monotonic() + DRAIN_SECONDS
            if drain_until is not None and time.monotonic() > drain_until:
                break
            for key, _ in sel.select(timeout=0.2):
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                log.write(chunk)
                log.flush()
                sink(key.data, chunk)
    finally:
        sel.close()


def exit_status(returncode: int) -> int:
    """A Popen return code as a shell reports it: 128+N for death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def identity(pid: int) -> dict[str, int]:
    """pid plus its start time, so a recycled pid is never mistaken for the original process."""
    return {"pid": pid, "start": _start_time(pid) or 0}


def is_alive(ident: Mapping[str, int]) -> bool:
    pid = int(ident.get("pid") or 0)
    if pid <= 0:
        return False
    start = _start_time(pid)
    if start is None:
        return False
    if _is_zombie(pid):
        return False
    return not ident.get("start") or start == ident["start"]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text[text.rindex(")") + 2:].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0
        return 0  # no /proc (not Linux): alive, start unknown
    return int(fields[19])


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] == "Z"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int, *, grace: float = CANCEL_GRACE_SECONDS,
               reap: Callable[[], bool] | None = None) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace` seconds.

    A second Ctrl-C (KeyboardInterrupt) during the grace period SIGKILLs the group at once, waits for it to
    be gone, and is then raised again. `reap` lets a parent collect its child while waiting (a zombie still
    counts as a group member).
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not group_alive(pgid):
                return
            time.sleep(0.05)
    except KeyboardInterrupt:
        kill_now(pgid, reap=reap)
        raise
    kill_now(pgid, reap=reap)


def kill_now(pgid: int, *, reap: Callable[[], bool] | None = None) -> None:
    """SIGKILL the process group and wait (at most 5 s) until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and group_alive(pgid):
        if reap is not None:
            reap()
        time.sleep(0.02)
