"""The Docker family: the `docker` type (this machine's engine) and `remotedocker` (a host's engine over
SSH), which share the container plan (`container.py`) and its start. Descriptors only here: importing this
package imports neither the Docker SDK nor paramiko."""

from __future__ import annotations

from ...config.compute import DEFAULT_BASE_IMAGE
from ..ssh import CONNECTION_OPTIONS, HOST_OPTIONS
from ..types import FORCE, SHARE_DIRECTORY, AttachOption, Capability, TargetType

BASE_IMAGE_OPTION = AttachOption("base_image", ("--base-image",), "baseDockerImage for the target.",
                                 writes="base_docker_image", key="baseDockerImage", default=DEFAULT_BASE_IMAGE)

_DOCKER_CAPABILITIES = frozenset({Capability.PREPARES_ENVIRONMENT, Capability.BUILDS_FROM_CONDA_LOCKS,
                                  Capability.HAS_DOCKER_ENGINE, Capability.CAN_REATTACH})

DOCKER = TargetType(
    name="docker",
    summary="Attach the local Docker engine.",
    implementation="amlexec.targets.docker.target:DockerTarget",
    aliases=("localdocker",),  # what Workbench's own sample projects wrote for local Docker
    attach_options=(BASE_IMAGE_OPTION, FORCE),
    compute_values={"native_shared_directory": SHARE_DIRECTORY},
    capabilities=_DOCKER_CAPABILITIES,
)

REMOTEDOCKER = TargetType(
    name="remotedocker",
    summary="Attach a remote Linux host running Docker, over SSH.",
    implementation="amlexec.targets.docker.remotedocker:RemoteDockerTarget",
    over_ssh=True,
    attach_options=(*CONNECTION_OPTIONS, BASE_IMAGE_OPTION, *HOST_OPTIONS),
    compute_values={"native_shared_directory": SHARE_DIRECTORY, "shared_volumes": True},
    host_check="amlexec.targets.docker.hostcheck:check_docker",
    capabilities=_DOCKER_CAPABILITIES | {Capability.DETACHES_ON_INTERRUPT},
)
