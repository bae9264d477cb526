"""The `remote` target: the script runs with the host's own Python (`pythonLocation`) over SSH, no Docker.

Workbench's `attach remote` (userManagedEnvironment: true): amlexec manages no environment there. A run
uploads the project snapshot incrementally and amlexec's small runtime folder, then starts the script
detached from the connection (`sshtarget.py`); see `sshrun.py` for how it is followed, canceled and
collected.
"""

from __future__ import annotations

from typing import ClassVar

from ..errors import UsageError
from .base import RunSpec
from .sshtarget import SshTarget, remote_path

DEFAULT_PYTHON = "python3"

__all__ = ["DEFAULT_PYTHON", "RemoteTarget", "remote_path"]


class RemoteTarget(SshTarget):
    type: ClassVar[str] = "remote"

    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        """The argv the host runs: `pythonLocation -u script args...` (unbuffered, so output streams)."""
        if spec.runconfig.is_pyspark:
            raise UsageError(f"{spec.runconfig.file_name} uses Framework: PySpark, but '{self.compute.name}' is a "
                             "remote target, which runs plain Python",
                             hint="set Framework: Python, or attach the host as a cluster target")
        python = remote_path(home, self.compute.python_location or DEFAULT_PYTHON)
        return [python, "-u", *spec.argv]
