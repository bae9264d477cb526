"""An environment variable name no shell takes fails when the runconfig loads, on every target type:
exit 78 naming the file, line and key, before any connection or engine, and no run is recorded (issue 12:
`MY-VAR:` used to run on local and docker and fail on remote and cluster after a Failed run was recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import write
from test_config_corpus import refused, submit

from amlexec.targets import registry

# An address nothing answers on: the run must be refused before amlexec tries it.
COMPUTE = "type: {type}\naddress: 192.0.2.1:1\nusername: nobody\nbaseDockerImage: none:0\n"


@pytest.mark.parametrize("spelling", [s for kind in registry.TYPES for s in kind.spellings])
def test_an_invalid_variable_name_is_refused_at_load_on_every_target_type(project: Path, spelling: str) -> None:
    write(project, "aml_config/t.compute", COMPUTE.format(type=spelling))
    write(project, "aml_config/t.runconfig", "Target: t\nFramework: Python\nEnvironmentVariables:\n  OK: 1\n"
          "  MY-VAR: 1\n")
    refused(project, submit("t"), 78, "aml_config/t.runconfig, line 5: EnvironmentVariables: 'MY-VAR' is not a "
            "valid variable name", "use letters, digits and '_', not starting with a digit: the names every shell "
            "and the remote and cluster targets accept")
