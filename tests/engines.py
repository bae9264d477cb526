"""Engine availability for integration tests.

Engine-backed tests (markers `docker`, `ssh`, `spark`) call `require_engine(...)` when an engine is missing:
it skips on a laptop, but fails when AMLEXEC_REQUIRE_ENGINES is set, as it is in CI, so a CI machine
without its engines can never pass quietly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
WORKBENCH_SAMPLES = FIXTURES / "workbench-samples"


def require_engine(what: str, why: str) -> None:
    message = f"{what} is not available: {why}"
    if os.environ.get("AMLEXEC_REQUIRE_ENGINES"):
        pytest.fail(message + " (AMLEXEC_REQUIRE_ENGINES is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "a condition",
             interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy and return it; fail the test (never hang) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
