"""The `local` type: scripts run on this machine with the interpreter of `pythonLocation` (`target.py`)."""

from __future__ import annotations

from ..types import FORCE, SHARE_DIRECTORY, AttachOption, TargetType

LOCAL = TargetType(
    name="local",
    summary="Attach a target that runs scripts on this machine.",
    implementation="amlexec.targets.local.target:LocalTarget",
    attach_options=(FORCE, AttachOption("python_location", ("--python",), "pythonLocation.",
                                        writes="python_location", key="pythonLocation")),
    compute_values={"native_shared_directory": SHARE_DIRECTORY},
)
