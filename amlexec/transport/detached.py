"""Processes that outlive the SSH connection that started them.

The helper starts the command under `setsid` (its own session and process group, so no SIGHUP when the
connection drops and one group for cancel to kill), appends its stdout and stderr to `output.log`, and
writes its exit code to `exit_code` when it ends. Environment values travel in an env file (0600, read and
deleted by the supervisor before the command starts), never on a command line.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import AmlexecError, StorageError, UsageError
from .remotehost import RemoteHost

OUTPUT_LOG = "output.log"
EXIT_CODE = "exit_code"
ENV_FILE = "env"
CANCEL_GRACE_SECONDS = 10
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class RemoteStatus:
    state: str  # "running" | "exited" | "vanished" (no process, no exit code) | "missing" (no run folder)
    code: int | None = None
    pgid: int | None = None


def parse_status(text: str) -> RemoteStatus:
    """The helper's `status` answer."""
    words = text.split()
    if len(words) == 2 and words[0] == "exited" and words[1].lstrip("-").isdigit():
        return RemoteStatus("exited", code=int(words[1]))
    if len(words) == 2 and words[0] == "running" and words[1].isdigit():
        return RemoteStatus("running", pgid=int(words[1]))
    if words in (["vanished"], ["missing"]):
        return RemoteStatus(words[0])
    raise StorageError(f"unexpected answer from the amlexec helper: {text.strip()[:200]!r}")


def env_file(env: Mapping[str, str], *, pythonpath: str | None = None, source: str = "the run") -> bytes:
    """Shell lines that export `env` byte for byte (each value quoted by shlex.quote), then put
    `pythonpath` in front of whatever PYTHONPATH is by then."""
    lines = []
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise UsageError(f"environment variable name {name!r} in {source} cannot be exported",
                             hint="use letters, digits and '_', not starting with a digit")
        if "\0" in value:
            raise UsageError(f"environment variable {name} in {source} contains a NUL character")
        lines.append(f"export {name}={shlex.quote(value)}")
    if pythonpath:
        lines.append(f'export PYTHONPATH={shlex.quote(pythonpath)}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def launch(host: RemoteHost, run_dir: str, *, cwd: str, argv: Sequence[str], env: bytes | None) -> int:
    """Start `argv` in `cwd`, detached; returns its process group id once its supervisor runs."""
    if env is not None:
        host.write_private(posixpath.join(run_dir, ENV_FILE), env)
    answer = host.check("launch", run_dir, cwd, *argv, timeout=60).strip()
    if not answer.isdigit():
        raise StorageError(f"starting the run on {host.display} failed: {answer[:200]!r}")
    return int(answer)


def status(host: RemoteHost, run_dir: str, run_id: str) -> RemoteStatus:
    return parse_status(host.check("status", run_dir, run_id, timeout=60))


def cancel(host: RemoteHost, run_dir: str, run_id: str, *, grace: int = CANCEL_GRACE_SECONDS) -> None:
    """SIGTERM the run's process group (SIGKILL after `grace` s); returns once no process of it is left."""
    done = host.call("cancel", run_dir, run_id, str(grace), timeout=grace + 60)
    if done.status != 0 or done.stdout.strip() != b"gone":
        raise AmlexecError(f"the run's processes on {host.display} survived SIGKILL: {done.text()}",
                           hint="they may be stuck in the kernel (D state); check the host")
