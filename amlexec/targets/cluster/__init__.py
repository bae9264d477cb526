"""The `cluster` type: a Spark cluster's head node over SSH (`target.py`), its Python environment
(`environment.py`) and the Spark application of a run (`sparkapp.py`). Descriptors only here."""

from __future__ import annotations

from ..docker import BASE_IMAGE_OPTION
from ..ssh import CONNECTION_OPTIONS, HOST_OPTIONS
from ..types import AttachOption, Capability, TargetType


def hdinsight_note(address: str) -> str | None:
    """HDInsight's SSH endpoint is not the cluster's own name: say so when the address looks like that."""
    if address.endswith(".azurehdinsight.net") and "-ssh." not in address:
        return "HDInsight head nodes are reached at <cluster>-ssh.azurehdinsight.net (note the -ssh)"
    return None


# `attach cluster` has always taken --base-image (and ignored it): kept so scripts that pass it still work.
_IGNORED_BASE_IMAGE = AttachOption(BASE_IMAGE_OPTION.param, BASE_IMAGE_OPTION.flags, BASE_IMAGE_OPTION.help)

CLUSTER = TargetType(
    name="cluster",
    summary="Attach a Spark cluster's head node, over SSH.",
    implementation="amlexec.targets.cluster.target:ClusterTarget",
    over_ssh=True,
    attach_options=(*CONNECTION_OPTIONS, _IGNORED_BASE_IMAGE, *HOST_OPTIONS),
    default_username="sshuser",  # HDInsight's default SSH user
    host_check="amlexec.targets.cluster.hostcheck:check_cluster",
    attach_note=hdinsight_note,
    capabilities=frozenset({Capability.PREPARES_ENVIRONMENT, Capability.DETACHES_ON_INTERRUPT,
                            Capability.CAN_REATTACH}),
    default_framework="PySpark",
)
