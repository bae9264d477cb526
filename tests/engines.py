"""Engine availability for integration tests.

Engine-backed tests (markers `docker`, `ssh`, `spark`) call `require_engine(...)` when an engine is missing:
it skips on a laptop, but fails when AMLEXEC_REQUIRE_ENGINES is set, as it is in CI, so a CI machine
without its engines can never pass quietly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
WORKBENCH_SAMPLES = FIXTURES / "workbench-samples"


def require_engine(what: str, why: str) -> None:
    message = f"{what} is not available: {why}"
    if os.environ.get("AMLEXEC_REQUIRE_ENGINES"):
        pytest.fail(message + " (AMLEXEC_REQUIRE_ENGINES is set, so this is a failure)", pytrace=False)
    pytest.skip(message)
