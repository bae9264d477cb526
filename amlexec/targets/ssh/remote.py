"""The `remote` target: the script runs with the host's own Python (`pythonLocation`) over SSH, no Docker.

Workbench's `attach remote` (userManagedEnvironment: true): amlexec manages no environment there. A run
uploads the project snapshot incrementally and amlexec's small runtime folder, then starts the script
detached from the connection (`ssh/target.py`); see `ssh/run.py` for how it is followed, canceled and
collected.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...config.runconfig import RunConfig
from ...errors import ConfigError
from ...transport.remotehost import RemoteHost
from ..base import Progress, RunSpec
from ..options import RunOptions
from ..types import TargetType
from . import DEFAULT_PYTHON, REMOTE
from .target import SshTarget, remote_path, run_python

_VERSION_CODE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"

__all__ = ["DEFAULT_PYTHON", "RemoteTarget", "interpreter_version", "remote_path"]


def interpreter_version(host: RemoteHost, location: str) -> tuple[str, str]:
    """(the interpreter's path on the host, its version), or NotFoundError saying why it does not run."""
    python = remote_path(host.conn.home(), location)
    version = run_python(host, python, _VERSION_CODE, location=location,
                         hint="install Python 3 there, or pass --python with the interpreter's full path "
                         "(SSH commands run in a non-login shell, so PATH may be shorter than you expect)")
    return python, version.strip()


class RemoteTarget(SshTarget):
    kind: ClassVar[TargetType] = REMOTE

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        """No environment to manage here, but the run records which Python it used (one SSH round trip)."""
        session = self.session(progress, run_id=spec.run_id)
        progress(f"connecting to {session.settings.display}")
        try:
            host = session.host()
            python, version = interpreter_version(host, self.compute.python_location or DEFAULT_PYTHON)
        except BaseException:
            self.close()
            raise
        return {"python": f"{python} (pythonLocation on {host.display})", "python_version": version,
                "python_source": "pythonLocation"}

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the connection settings, the `-d`/`-s` files, and plain Python."""
        super().check(runconfig, conda_file, spark_file, options)
        if runconfig.is_pyspark:
            raise ConfigError(f"{runconfig.file_name} uses Framework: PySpark, but '{self.compute.name}' is a "
                              "remote target, which runs plain Python",
                              hint="set Framework: Python, or attach the host as a cluster target")

    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        """The argv the host runs: `pythonLocation -u script args...` (unbuffered, so output streams)."""
        python = remote_path(home, self.compute.python_location or DEFAULT_PYTHON)
        return [python, "-u", *spec.argv]
