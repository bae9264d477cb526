"""Shared test setup: every test runs with its own amlexec home. Engine checks live in engines.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from engines import require_engine  # noqa: F401 - re-exported for test modules

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
WORKBENCH_SAMPLES = FIXTURES / "workbench-samples"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own amlexec home: credentials and caches never touch the real one."""
    home = tmp_path_factory.mktemp("amlexec-home")
    monkeypatch.setenv("AMLEXEC_HOME", str(home))
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", "file")
    monkeypatch.delenv("AMLEXEC_PROJECT", raising=False)
    monkeypatch.delenv("AMLEXEC_DEBUG", raising=False)
    return home
