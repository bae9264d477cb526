"""A real Slurm cluster for the `slurm` tests: three containers of the image built from tests/fixtures/slurm/.

`slurm-head` runs munged, sshd (it is the login node) and slurmctld; `node1` and `node2` run munged and
slurmd. They are on a docker network of their own, share one munge key and one slurm.conf (a read-only
config mount), and mount one docker volume at /shared, which stands in for the cluster's file server:
alice's home is there. Only the login node's sshd is published, on 127.0.0.1. The cluster starts once per
session (about 3 s once the image exists); every wait has a deadline, and a failed start puts the daemons'
logs in the error. Run under the engine lock (`flock /tmp/amlexec-engine.lock pytest -m slurm ...`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engines import FIXTURES, require_engine
from integration.sshfixtures import Keys, wait_for_banner

RECIPE = FIXTURES / "slurm"
LABEL = "org.amlexec.test=slurm"
USER = "alice"
START_DEADLINE = 90.0
NODES = ("node1", "node2")

# What matters in containers (../shared/notes/slurm.md): no cgroup plugins (the cgroup tree is read-only),
# no accounting daemon (so no sacct), no scheduling delay (a job starts within a second), KillWait short so
# a cancel ends within seconds. `short` is node1 alone, for tests that fill it up.
SLURM_CONF = """\
ClusterName=amlexec
SlurmctldHost=slurm-head
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.txt
MinJobAge=3600
KillWait=5
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=node[1-2] CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=node[1-2] Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=node1 MaxTime=INFINITE State=UP
"""


def _run(argv: list[str], *, input: bytes | None = None, timeout: float = 60, check: bool = True
         ) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done


def ensure_image() -> str:
    """The cluster image's name, built on first use (about 30 s)."""
    if shutil.which("docker") is None:
        require_engine("slurm", "the docker CLI is missing (the Slurm test cluster is containers)")
    if _run(["docker", "info"], check=False, timeout=30).returncode != 0:
        require_engine("slurm", "no Docker engine answers (the Slurm test cluster is containers)")
    done = _run(["sh", str(RECIPE / "build.sh")], check=False, timeout=900)
    if done.returncode != 0:
        require_engine("slurm", "the Slurm image could not be built (is mmdebstrap installed? see .ci/slurm.sh): "
                       + done.stderr.decode(errors="replace")[-500:])
    return done.stdout.decode().strip().splitlines()[-1]


@dataclass
class SlurmCluster:
    prefix: str  # container names are PREFIX-head, PREFIX-node1, PREFIX-node2
    port: int  # the login node's sshd on 127.0.0.1
    key_line: str  # "ssh-ed25519 AAAA..." of the login node's host key

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def container(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def sh(self, script: str, *, node: str = "head", user: str = "root", check: bool = True) -> str:
        done = _run(["docker", "exec", "-u", user, self.container(node), "sh", "-c", script], check=check)
        return done.stdout.decode(errors="replace")

    def as_user(self, script: str, *, check: bool = True) -> str:
        """A shell command on the login node as alice (what she would type there)."""
        return self.sh(f"cd && {script}", user=USER, check=check)

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.key_line}\n"

    def idle_nodes(self) -> int:
        out = self.sh("sinfo -h -N -p debug -o '%T'", check=False)
        return sum(1 for line in out.split() if line == "idle")

    def logs(self) -> str:
        parts = []
        for node in ("head", *NODES):
            parts.append(f"--- {node} ---\n" + self.sh("tail -n 40 /var/log/slurm/*.log /var/log/slurm/*.out "
                                                      "2>/dev/null", node=node, check=False))
        return "\n".join(parts)


def start_cluster(image: str, config: Path) -> SlurmCluster:
    """Three containers from `image` with `config` (make_config) mounted; returns once both nodes are idle."""
    prefix = f"amlexec-slurm-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    _run(["docker", "network", "create", "--label", LABEL, prefix])
    _run(["docker", "volume", "create", "--label", LABEL, prefix])
    common = ["--label", LABEL, "--init", "--network", prefix, "-v", f"{prefix}:/shared",
              "-v", f"{config}:/config:ro"]
    _run(["docker", "run", "-d", "--name", f"{prefix}-head", "--hostname", "slurm-head", "--network-alias",
          "slurm-head", "-p", "127.0.0.1::22", *common, image, "controller"], timeout=120)
    for node in NODES:
        _run(["docker", "run", "-d", "--name", f"{prefix}-{node}", "--hostname", node, "--network-alias", node,
              *common, image, "compute"], timeout=120)
    port = int(_run(["docker", "port", f"{prefix}-head", "22/tcp"]).stdout.decode().split(":")[-1])
    cluster = SlurmCluster(prefix, port, "")
    wait_for_banner(port, timeout=START_DEADLINE)
    cluster.key_line = " ".join(cluster.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
    deadline = time.monotonic() + START_DEADLINE
    while cluster.idle_nodes() < len(NODES):
        if time.monotonic() > deadline:
            raise AssertionError(f"the Slurm nodes were not idle within {START_DEADLINE}s:\n{cluster.logs()}")
        time.sleep(0.2)
    return cluster


def remove_cluster(prefix: str) -> None:
    for name in (f"{prefix}-head", *(f"{prefix}-{n}" for n in NODES)):
        _run(["docker", "rm", "-f", "-v", name], check=False)
    _run(["docker", "network", "rm", prefix], check=False)
    _run(["docker", "volume", "rm", "-f", prefix], check=False)


def make_config(config: Path, public_key: Path) -> Path:
    """The config mount: a fresh munge key, slurm.conf, and `public_key` authorized for alice."""
    (config / "munge.key").write_bytes(os.urandom(1024))
    (config / "slurm.conf").write_text(SLURM_CONF)
    shutil.copy(public_key, config / "authorized_keys")
    for path in config.iterdir():
        path.chmod(0o644)  # read by munge and sshd inside the containers; the key is installed 0400 there
    config.chmod(0o755)
    return config


@pytest.fixture(scope="session")
def slurm_image() -> str:
    return ensure_image()


@pytest.fixture(scope="session")
def slurm_cluster(slurm_image: str, client_keys: Keys, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[SlurmCluster]:
    """The session's cluster; tests leave it as they found it (no jobs of theirs left running)."""
    config = make_config(tmp_path_factory.mktemp("slurm-config"), client_keys.good.with_suffix(".pub"))
    try:
        cluster = start_cluster(slurm_image, config)
    except BaseException:
        _remove_all_of_this_session()
        raise
    yield cluster
    remove_cluster(cluster.prefix)


def _remove_all_of_this_session() -> None:
    """After a failed start: whatever this process made (names start with its pid)."""
    done = _run(["docker", "ps", "-aq", "--filter", f"label={LABEL}", "--filter",
                 f"name=amlexec-slurm-{os.getpid()}-"], check=False)
    for cid in done.stdout.decode().split():
        _run(["docker", "rm", "-f", "-v", cid], check=False)
    for kind in ("network", "volume"):
        listed = _run(["docker", kind, "ls", "-q", "--filter", f"label={LABEL}"], check=False)
        for name in listed.stdout.decode().split():
            if name.startswith(f"amlexec-slurm-{os.getpid()}-"):
                _run(["docker", kind, "rm", name], check=False)
