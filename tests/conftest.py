"""Shared test setup.

Engine-backed tests (markers `docker`, `ssh`, `spark`) call `require_engine(...)` when an engine is missing:
it skips on a laptop, but fails when AMLEXEC_REQUIRE_ENGINES is set, as it is in CI, so a CI machine
without its engines can never pass quietly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixtures for the `ssh` tests (real SSH hosts in containers); they do nothing until a test asks for them.
pytest_plugins = ["integration.sshfixtures"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
WORKBENCH_SAMPLES = FIXTURES / "workbench-samples"


def require_engine(what: str, why: str) -> None:
    message = f"{what} is not available: {why}"
    if os.environ.get("AMLEXEC_REQUIRE_ENGINES"):
        pytest.fail(message + " (AMLEXEC_REQUIRE_ENGINES is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own amlexec home: credentials and caches never touch the real one."""
    home = tmp_path_factory.mktemp("amlexec-home")
    monkeypatch.setenv("AMLEXEC_HOME", str(home))
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", "file")
    monkeypatch.delenv("AMLEXEC_PROJECT", raising=False)
    monkeypatch.delenv("AMLEXEC_DEBUG", raising=False)
    return home
