"""A run's environment variables, built the same way on every target from a small per-target layout.

The run context (AZUREML_RUN_ID, AMLEXEC_TARGET, ...) and the runconfig's EnvironmentVariables arrive in
`RunSpec.env` (runs/submit); a target says only where the run's files are as the script sees them
(`RunLayout`), and `run_environment` adds the variables that point at them, by one rule each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

OUTPUTS_VARIABLE = "AMLEXEC_OUTPUTS_DIR"  # what amlexec.logging and scripts read (amlexec/history/metrics_api.py)
METRICS_VARIABLE = "AMLEXEC_METRICS_FILE"
SHARE_VARIABLE = "AZUREML_NATIVE_SHARE_DIRECTORY"  # Workbench's name; its value ends with one '/'


@dataclass(frozen=True)
class RunLayout:
    """Where one run's files are on its target, as paths its script sees."""

    outputs_dir: str
    metrics_file: str
    # amlexec's runtime folder, put in front of PYTHONPATH; None when the target's launcher does it itself
    # (the SSH targets' env file prepends it to the host's PYTHONPATH in the run's shell).
    runtime_dir: str | None
    shared_dir: str | None = None  # nativeSharedDirectory/<project> (or the container's mount of it)
    path_separator: str = ":"


def run_environment(env: Mapping[str, str], layout: RunLayout) -> dict[str, str]:
    """`env` with the run's layout variables added (a PYTHONPATH in `env` stays, after the runtime)."""
    out = dict(env)
    out[OUTPUTS_VARIABLE] = layout.outputs_dir
    out[METRICS_VARIABLE] = layout.metrics_file
    out.update(share_variable(layout.shared_dir))
    if layout.runtime_dir is not None:
        out["PYTHONPATH"] = layout.path_separator.join(p for p in (layout.runtime_dir, out.get("PYTHONPATH")) if p)
    return out


def share_variable(shared_dir: str | None) -> dict[str, str]:
    """AZUREML_NATIVE_SHARE_DIRECTORY for a shared folder (none without one), ending with one '/'."""
    return {SHARE_VARIABLE: shared_dir.rstrip("/") + "/"} if shared_dir else {}
