"""`computetarget show NAME --status` for a slurm target: its partitions and nodes, as scontrol says them."""

from __future__ import annotations

from typing import Any

from ...config.compute import ComputeTarget
from ...errors import UnavailableError
from ...transport.remotehost import RemoteHost
from ...transport.ssh import SshConnection, SshSettings
from .jobinfo import Node, Partition, parse_nodes, parse_partitions

NODE_STATES = ("idle", "mixed", "allocated", "down", "drained", "draining")


def cluster_status(compute: ComputeTarget) -> dict[str, Any]:
    """The cluster's partitions and nodes (one SSH command), for `computetarget show --status`."""
    settings = SshSettings.from_compute(compute)
    with SshConnection.open(settings) as conn:
        host = RemoteHost(conn)
        done = conn.run(["sh", "-c", "scontrol show partition -o && echo @@ && scontrol show node -o"], timeout=60)
        if done.status != 0:
            raise UnavailableError(f"scontrol on {host.display} failed (exit {done.status}): {done.text()[-300:]}",
                                   hint="check that slurmctld answers: `scontrol ping` on the login node")
    partitions_text, _, nodes_text = done.stdout.decode("utf-8", "replace").partition("@@")
    return summarize(parse_partitions(partitions_text), parse_nodes(nodes_text))


def summarize(partitions: list[Partition], nodes: list[Node]) -> dict[str, Any]:
    """The status document: per partition its nodes counted by state; every node with its CPUs and GPUs."""
    out_partitions = []
    for part in partitions:
        members = [n for n in nodes if part.name in n.partitions]
        counts = {state: sum(1 for n in members if n.state == state) for state in NODE_STATES}
        counts["other"] = len(members) - sum(counts.values())
        out_partitions.append({"name": part.name, "default": part.default, "state": part.state.lower(),
                               "nodes": part.total_nodes, "cpus": part.total_cpus, "max_time": part.max_time,
                               "node_states": {k: v for k, v in counts.items() if v},
                               "gpus": sum(n.gpus for n in members)})
    out_nodes = [{"name": n.name, "state": n.state, "slurm_state": n.slurm_state, "cpus": n.cpus,
                  "cpus_allocated": n.cpus_allocated, "gpus": n.gpus, "partitions": list(n.partitions),
                  **({"reason": n.reason} if n.reason else {})} for n in nodes]
    return {"partitions": out_partitions, "nodes": out_nodes}
