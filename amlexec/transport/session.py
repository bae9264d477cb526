"""A connection to one host that comes back after it drops, for runs that outlive their connections."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import RunUnreachableError, UsageError
from .remotehost import RemoteHost
from .ssh import SshConnection, SshSettings, is_connection_error

T = TypeVar("T")
DEFAULT_RECONNECT_SECONDS = 120.0


def reconnect_seconds() -> float:
    """How long a run's supervisor keeps trying to reach a host that stopped answering."""
    value = os.environ.get("AMLEXEC_SSH_RECONNECT_SECONDS")
    if not value:
        return DEFAULT_RECONNECT_SECONDS
    try:
        return max(0.0, float(value))
    except ValueError:
        raise UsageError(f"AMLEXEC_SSH_RECONNECT_SECONDS={value!r} is not a number") from None


class Session:
    """Opens the connection when first needed and reopens it after a drop.

    `do(fn)` runs `fn(host)`; when the connection fails it reconnects and runs `fn` again (so `fn` must be
    safe to repeat), for up to `budget` seconds, then raises `RunUnreachableError`. Refused credentials or
    host keys are never retried.
    """

    def __init__(self, settings: SshSettings, *, budget: float | None = None,
                 progress: Callable[[str], None] | None = None, run_id: str | None = None) -> None:
        self.settings = settings
        self.run_id = run_id
        self.budget = reconnect_seconds() if budget is None else budget
        self.progress = progress or (lambda _line: None)
        self._host: RemoteHost | None = None

    def host(self) -> RemoteHost:
        if self._host is not None and not self._host.conn.alive:
            # paramiko noticed the drop before our next request did: same story, told the same way.
            self.progress(f"lost the connection to {self.settings.display}; reconnecting")
            self.close()
        if self._host is None:
            self._host = RemoteHost(SshConnection.open(self.settings))
        return self._host

    def close(self) -> None:
        if self._host is not None:
            self._host.conn.close()
            self._host = None

    def do(self, fn: Callable[[RemoteHost], T], *, what: str, budget: float | None = None) -> T:
        allowed = self.budget if budget is None else budget
        deadline: float | None = None
        delay = 0.5
        while True:
            try:
                return fn(self.host())
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                self.close()
                now = time.monotonic()
                reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                if deadline is None:
                    deadline = now + allowed
                    if allowed > 0:
                        self.progress(f"lost the connection to {self.settings.display} while {what} "
                                      f"({reason}); reconnecting for up to {allowed:g}s")
                if now >= deadline:
                    raise RunUnreachableError(
                        f"{self.settings.display} did not answer while {what} ({reason})",
                        hint="the run may still be going there; `amlexec history info -r "
                        f"{self.run_id or 'RUN_ID'}` checks again and collects it once the host answers",
                    ) from exc
                time.sleep(min(delay, max(deadline - now, 0.0)))
                delay = min(delay * 2, 5.0)
