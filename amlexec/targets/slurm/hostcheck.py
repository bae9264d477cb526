"""`computetarget attach slurm`'s host check: Slurm's client commands on the login node's PATH, a controller
that answers, the Python, and a sharedDirectory amlexec can write to. Says exactly what is missing."""

from __future__ import annotations

import shlex

from ...config.compute import ComputeTarget
from ...errors import NotFoundError, StorageError, UnavailableError
from ...transport.remotehost import RemoteHost
from ..ssh.check import check_python
from ..ssh.target import remote_path
from .settings import slurm_settings

TOOLS = ("sbatch", "squeue", "scontrol", "scancel", "srun")


def check_slurm(compute: ComputeTarget, host: RemoteHost) -> str:
    settings = slurm_settings(compute)
    shared = remote_path(host.conn.home(), settings.shared_directory)
    probe = "; ".join([*(f"command -v {tool} >/dev/null 2>&1 || echo missing {tool}" for tool in TOOLS),
                       f"mkdir -p -- {shlex.quote(shared)} 2>/dev/null && t=$(mktemp -p {shlex.quote(shared)}) "
                       "&& rm -f -- \"$t\" || echo unwritable",
                       "scontrol ping >/dev/null 2>&1 || echo nocontroller"])
    answer = host.conn.run(["sh", "-c", probe], timeout=60).stdout.decode("utf-8", "replace").split("\n")
    missing = [line.split()[1] for line in answer if line.startswith("missing ")]
    if missing:
        raise NotFoundError(f"{host.display} lacks {', '.join(missing)} on the PATH of non-login shells; a slurm "
                            "target's login node needs sbatch, squeue, scontrol, scancel and srun",
                            hint="install Slurm's client commands there (Debian: slurm-client), or add their folder "
                            "to PATH in ~/.bashrc before its interactive-only part")
    if "unwritable" in answer:
        raise StorageError(f"sharedDirectory {shared} on {host.display} is not writable by {compute.username}",
                           hint="choose a folder you can write that every node mounts (--shared-directory)")
    if "nocontroller" in answer:
        raise UnavailableError(f"Slurm's controller does not answer on {host.display} (`scontrol ping`)",
                               hint="check slurmctld on the cluster, then attach again")
    python = check_python(compute, host)
    return f"Slurm found; {python}; shared directory {shared}"
