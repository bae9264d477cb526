"""Shared test setup: every test runs with its own amlexec home. Engine checks live in engines.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from engines import FIXTURES, REPO, WORKBENCH_SAMPLES, require_engine  # noqa: F401 - shared with test modules

# Fixtures for the `ssh` tests (real SSH hosts in containers), the `remotedocker` tests (a host with its own
# Docker engine) and the `slurm` tests (a 3-container cluster); they do nothing until a test asks for them.
pytest_plugins = ["integration.sshfixtures", "integration.dockerhostfixtures", "integration.slurmfixtures"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own amlexec home: credentials and caches never touch the real one."""
    home = tmp_path_factory.mktemp("amlexec-home")
    monkeypatch.setenv("AMLEXEC_HOME", str(home))
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", "file")
    monkeypatch.delenv("AMLEXEC_PROJECT", raising=False)
    monkeypatch.delenv("AMLEXEC_DEBUG", raising=False)
    return home


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local conda channel of hand-made noarch packages (tests/fixtures/condachannel.py), built once."""
    from fixtures.condachannel import build_channel

    return build_channel(tmp_path_factory.mktemp("conda-channel"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # py-rattler can crash at interpreter exit; it must only ever run in child processes.
    import sys

    if "rattler" in sys.modules:
        sys.stderr.write("\nERROR: py-rattler was imported into the pytest process; run it in a child.\n")
        session.exitstatus = 1
