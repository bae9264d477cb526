"""`computetarget attach` for SSH targets: connect once and say exactly what is missing on the host.

Checks, in order: the address answers, the host key is known (or accepted with --accept-host-key), the
credentials work, SFTP and the tools amlexec's helper needs are there, and then what the target type runs:
its descriptor's `host_check` (the interpreter for `remote`, `check_python` here; the others live in their
own family's `hostcheck.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from ...config.compute import ComputeTarget
from ...errors import NotFoundError, UnavailableError
from ...transport.hostkeys import fingerprint
from ...transport.remotehost import RemoteHost
from ...transport.ssh import SshConnection, SshSettings
from .remote import DEFAULT_PYTHON, interpreter_version

HostCheck = Callable[[ComputeTarget, RemoteHost], str]
MIN_PYTHON = (3, 7)  # what the runtime folder (amlexec.logging, azureml.logging) needs


def check_target(compute: ComputeTarget, *, accept_host_key: bool) -> list[str]:
    """Connect to the target's host and check it can run amlexec's runs: what every SSH type needs, then
    the type's own check (its descriptor's `host_check`); notes for the user."""
    from ..registry import find

    kind = find(compute.type)
    check: HostCheck | None = kind.load_host_check() if kind is not None else None
    settings = SshSettings.from_compute(compute)
    with SshConnection.open(settings, accept_host_key=accept_host_key,
                            accept_hint="add --accept-host-key to the attach command") as conn:
        key = conn.host_key
        notes = [f"connected to {settings.display} (host key {key.get_name()} {fingerprint(key)})"]
        host = RemoteHost(conn)  # opens SFTP: uploads need it
        facts = host.check("probe").split("\n")
        if "os Linux" not in facts:
            raise UnavailableError(f"{settings.display} is not a Linux host ({facts[0] or 'unknown'})",
                                   hint="amlexec runs on Linux hosts only, as Workbench did")
        missing = [line.split()[1] for line in facts if line.startswith("missing ")]
        if missing:
            raise NotFoundError(f"{settings.display} lacks {', '.join(missing)}, which amlexec needs there",
                                hint="install coreutils, tar, findutils and util-linux on the host")
        if check is not None:
            notes.append(check(compute, host))
    return notes


def check_python(compute: ComputeTarget, host: RemoteHost) -> str:
    location = compute.python_location or DEFAULT_PYTHON
    _python, version = interpreter_version(host, location)
    parts = tuple(int(p) for p in version.split(".")[:2])
    if parts < MIN_PYTHON:
        raise NotFoundError(f"'{location}' on {host.display} is Python {version}; amlexec runs need "
                            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer", hint="pass --python with a newer interpreter")
    return f"Python {version} ({location})"
