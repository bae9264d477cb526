"""End-to-end fixtures: temporary projects made the way a new user makes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import amlexec


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh project made by `amlexec init`, as a new user would start."""
    root = tmp_path / "proj"
    result = amlexec("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.err
    return root
